"""A realistic incident as fixed data: alerts, a deploy, a rollback, notes, severity change, action items."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.postmortem.model import (
    ActionItemFacts,
    AlertFacts,
    IncidentFacts,
    References,
    SlackMessage,
    TimelineEvent,
)

T0 = datetime(2026, 1, 5, 14, 2, 0, tzinfo=UTC)
ALICE, BOB, CAROL = "U0ALICE01", "U0BOB0001", "U0CAROL01"
CHANNEL = "C0INC0042"
RESOLVE_NOTE = "Rolled back checkout to checkout-00041; the orders index is being restored."


def at(minutes: float) -> datetime:
    """T0 + minutes."""
    return T0 + timedelta(minutes=minutes)


def incident(**overrides: Any) -> IncidentFacts:
    """INC-42, resolved 1h 12m after the first alert started firing."""
    values: dict[str, Any] = {
        "id": 42,
        "title": "Checkout is failing | 5xx after deploy",
        "description": "Error rate on checkout above 20%.",
        "severity": "P1",
        "status": "resolved",
        "service": "checkout",
        "commander": BOB,
        "comms": CAROL,
        "declared_by": ALICE,
        "source": "slack",
        "declared_at": at(6),
        "channel_name": "inc-20260105-42-checkout-is-failing",
        "channel_id": CHANNEL,
        "impact_started_at": None,
        "acknowledged_at": at(8),
        "acknowledged_by": BOB,
        "mitigated_at": at(40),
        "mitigated_by": BOB,
        "resolved_at": at(72),
        "resolved_by": BOB,
        "summary": RESOLVE_NOTE,
    }
    values.update(overrides)
    return IncidentFacts(**values)


def _event(n: int, minutes: float, kind: str, text: str, actor: str | None, **data: Any) -> TimelineEvent:
    return TimelineEvent(id=n, kind=kind, text=text, actor=actor, occurred_at=at(minutes), data=data)


def events() -> list[TimelineEvent]:
    """The timeline as the features record it (kinds and data shapes as stored)."""
    return [
        _event(
            1,
            0,
            "alert_fired",
            "Fired: HighErrorRate — 5xx ratio 23% on checkout",
            "flare",
            alert_id=7,
            group_id=3,
            url="https://prometheus.acme.test/graph?g0.expr=rate(http_5xx[5m])",
            links={
                "runbook": "https://runbooks.acme.test/checkout/5xx",
                "generator": "https://prometheus.acme.test/graph?g0.expr=rate(http_5xx[5m])",
            },
        ),
        _event(
            2,
            1,
            "alert_fired",
            "Fired: CheckoutLatencyHigh — p99 4.2s",
            "flare",
            alert_id=8,
            group_id=3,
            url="https://grafana.acme.test/d/checkout",
        ),
        _event(
            3,
            6,
            "declared",
            "Declared P2: Checkout is failing | 5xx after deploy",
            ALICE,
            severity="P2",
            service="checkout",
            source="slack",
            origin=None,
            commander=None,
        ),
        _event(4, 7, "role_assigned", f"commander: {BOB}", ALICE, role="commander", user=BOB, previous=None),
        _event(
            5,
            8,
            "status_changed",
            "declared → acknowledged",
            BOB,
            **{"from": "declared", "to": "acknowledged", "note": None},
        ),
        _event(
            6,
            9,
            "alert_acknowledged",
            "Acknowledged alert group: HighErrorRate",
            CAROL,
            group_id=3,
            firing=2,
            total=2,
        ),
        _event(7, 12, "severity_changed", "P2 → P1", BOB, **{"from": "P2", "to": "P1"}),
        _event(
            8,
            -3,
            "deploy",
            "checkout production: checkout-00042 (image checkout:1.8.0, commit 9f3c2ab) succeeded",
            "U0DEPLOYR1",
            service="checkout",
            env="production",
            revision="checkout-00042",
            commit_url="https://github.com/acme/checkout/commit/9f3c2ab",
            pipeline_url="https://github.com/acme/checkout/actions/runs/123",
        ),
        _event(
            9,
            15,
            "note",
            "root cause: the 1.8.0 migration dropped the <orders_by_user> index | see PR #812",
            CAROL,
        ),
        _event(10, 16, "note", "trigger: deploy of checkout-00042 at 13:59", BOB),
        _event(
            11, 18, "update", "Investigating elevated 5xx; suspect the 13:59 deploy.\nRolling back next.", BOB
        ),
        _event(
            12,
            20,
            "pinned",
            "Grafana shows the spike starting 13:59 <!channel>",
            CAROL,
            channel=CHANNEL,
            ts="1767621600.000200",
            author=CAROL,
            permalink="https://acme.slack.com/archives/C0INC0042/p1767621600000200",
            captured_by=BOB,
            via="pin",
        ),
        _event(
            13,
            22,
            "rollback",
            "Rollback of checkout (production) proposed by U0BOB0001: "
            "checkout-00042 100% -> checkout-00041 100%",
            BOB,
            rollback_id=5,
            service="checkout",
            env="production",
            event="proposed",
        ),
        _event(
            14,
            23,
            "rollback",
            "Rollback of checkout (production) confirmed by U0CAROL01; changing traffic",
            CAROL,
            rollback_id=5,
            service="checkout",
            env="production",
            event="confirmed",
        ),
        _event(
            15,
            25,
            "rollback",
            "Rollback of checkout (production) succeeded: verified healthy",
            "flare",
            rollback_id=5,
            service="checkout",
            env="production",
            event="succeeded",
            outcome="succeeded",
        ),
        _event(
            16,
            26,
            "runbook_step",
            "Runbook bad-deploy step 1/2 check-health (health_check): ok: healthy",
            "flare",
            run_id=2,
            runbook="bad-deploy",
            service="checkout",
            env="production",
            position=0,
            status="ok",
        ),
        _event(
            17,
            38,
            "alert_resolved",
            "Resolved: HighErrorRate — 5xx ratio 23% on checkout",
            "flare",
            alert_id=7,
            group_id=3,
            url="https://prometheus.acme.test/graph?g0.expr=rate(http_5xx[5m])",
        ),
        _event(
            18,
            40,
            "status_changed",
            "acknowledged → mitigated: traffic back on checkout-00041",
            BOB,
            **{"from": "acknowledged", "to": "mitigated", "note": "traffic back on checkout-00041"},
        ),
        _event(
            19,
            41,
            "action_item",
            "prevent: add an index check to the migration CI job",
            BOB,
            action_item_id=1,
            owner=CAROL,
        ),
        _event(20, 42, "note", "went well: the rollback took 3 minutes end to end", BOB),
        _event(21, 45, "update", "Mitigated; restoring the index before we close.", BOB),
        _event(
            22,
            72,
            "status_changed",
            f"mitigated → resolved: {RESOLVE_NOTE}",
            BOB,
            **{
                "from": "mitigated",
                "to": "resolved",
                "note": RESOLVE_NOTE,
            },
        ),
        _event(23, 73, "postmortem", "Post-mortem draft v1 generated", BOB, version=1),
    ]


def action_items() -> list[ActionItemFacts]:
    """Two action items, one with an owner and a type."""
    return [
        ActionItemFacts(1, "prevent: add an index check to the migration CI job", CAROL, "open", BOB, at(41)),
        ActionItemFacts(2, "Page on p99 latency | not only 5xx", None, "open", ALICE, at(44)),
    ]


def references() -> References:
    """Alerts as stored, delivered Slack messages, and the workspace."""
    return References(
        alerts={
            7: AlertFacts(7, "alertmanager", "HighErrorRate", at(0), at(0.5)),
            8: AlertFacts(8, "grafana", "CheckoutLatencyHigh", at(1), at(1.2)),
        },
        messages={
            "incident:42:card": SlackMessage(CHANNEL, "1767621960.000100"),
            "rollback:5": SlackMessage(CHANNEL, "1767623000.000300"),
            "runbook-run:2": SlackMessage(CHANNEL, "1767623100.000400"),
            "alert-group:3:inc:42": SlackMessage(CHANNEL, "1767621900.000050"),
        },
        event_messages={11: SlackMessage(CHANNEL, "1767622700.000500")},
        workspace_url="https://acme.slack.com",
    )
