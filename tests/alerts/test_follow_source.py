"""Alert state follows its source: escalations and label changes update the stored alert.

Story: a Sentry metric alert went warning -> critical (same id and start, action=critical); Flare
answered {"stored":0,"duplicates":1}, Slack kept showing the warning, and a route that auto-declares
at the critical level never fired. PagerDuty incident.priority_updated was ignored the same way.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from bot.alerts.models import AlertRecord
from bot.incidents.models import Incident, IncidentEvent
from tests.alerts.conftest import (
    AM_TOKEN,
    am_alert,
    am_payload,
    bearer,
    block_text,
    pd_headers,
    sentry_headers,
)
from tests.alerts.test_pagerduty import pd_event
from tests.alerts.test_sentry import metric_alert
from tests.conftest import Flare
from tests.fakes.slack import FakeSlack
from tests.support.waits import eventually

AM = "/webhooks/alertmanager"


async def _sentry(flare: Flare, payload: dict[str, Any]) -> dict[str, Any]:
    body = json.dumps(payload).encode()
    status, answer = await flare.post(
        "/webhooks/sentry", data=body, headers=sentry_headers(body, "metric_alert")
    )
    assert status == 200, answer
    return dict(answer)


async def _alerts(flare: Flare) -> list[AlertRecord]:
    async with flare.container.db.sessions() as session:
        return list((await session.execute(select(AlertRecord).order_by(AlertRecord.id))).scalars())


async def test_sentry_metric_alert_escalation_updates_the_alert_and_reroutes(
    alerts_flare: Flare, fake_slack: FakeSlack
) -> None:
    first = await _sentry(alerts_flare, metric_alert("warning"))
    assert (first["stored"], first["duplicates"]) == (1, 0)
    await fake_slack.wait_for(lambda: len(fake_slack.posted("C0ALERTS1")) == 1)

    escalated = await _sentry(alerts_flare, metric_alert("critical"))
    assert (escalated["stored"], escalated["updated"], escalated["duplicates"]) == (0, 1, 0)
    (stored,) = await _alerts(alerts_flare)
    assert stored.severity == "critical"
    assert stored.labels["severity"] == "critical"
    # Routing is evaluated again: the checkout-critical route now gets it (and pings on-call) ...
    await fake_slack.wait_for(lambda: len(fake_slack.posted("C0PAYCRIT")) == 1)
    assert "<!subteam^S0PAYONCALL>" in block_text(fake_slack.posted("C0PAYCRIT")[0].blocks)
    # ... and the message it was already in is rendered again.
    warning_message = fake_slack.posted("C0ALERTS1")[0]
    await fake_slack.wait_for(lambda: warning_message.edits >= 1)

    # The same content again is a true duplicate.
    again = await _sentry(alerts_flare, metric_alert("critical"))
    assert (again["stored"], again["updated"], again["duplicates"]) == (0, 0, 1)


async def test_alertmanager_label_change_to_a_declaring_severity_declares(
    alerts_flare: Flare, fake_slack: FakeSlack
) -> None:
    critical = am_alert(service="checkout", severity="critical", fingerprint="f00dfeed00000001")
    status, answer = await alerts_flare.post(AM, json=am_payload(critical), headers=bearer(AM_TOKEN))
    assert (status, answer["stored"]) == (200, 1)
    await fake_slack.wait_for(lambda: len(fake_slack.posted("C0PAYCRIT")) == 1)
    async with alerts_flare.container.db.sessions() as session:
        assert (await session.execute(select(Incident))).first() is None  # P1 does not declare

    page = am_alert(service="checkout", severity="page", fingerprint="f00dfeed00000001")
    page["annotations"]["description"] = "now paging"
    status, answer = await alerts_flare.post(AM, json=am_payload(page), headers=bearer(AM_TOKEN))
    assert (status, answer["updated"], answer["duplicates"]) == (200, 1, 0)

    async def declared() -> bool:
        async with alerts_flare.container.db.sessions() as session:
            return (await session.execute(select(Incident))).first() is not None

    await eventually(declared)
    async with alerts_flare.container.db.sessions() as session:
        incident = (await session.execute(select(Incident))).scalar_one()
        assert incident.severity == "P0"
        (stored,) = (await session.execute(select(AlertRecord))).scalars().all()
    assert stored.annotations["description"] == "now paging"
    await fake_slack.wait_for(lambda: "[P0]" in block_text(fake_slack.posted("C0PAYCRIT")[0].blocks))

    # Once linked, a further change is recorded on the incident's timeline.
    worse = am_alert(service="checkout", severity="critical", fingerprint="f00dfeed00000001")
    await alerts_flare.post(AM, json=am_payload(worse), headers=bearer(AM_TOKEN))

    async def recorded() -> bool:
        async with alerts_flare.container.db.sessions() as session:
            rows = await session.execute(select(IncidentEvent).where(IncidentEvent.kind == "alert_escalated"))
            return rows.first() is not None

    await eventually(recorded)


async def test_pagerduty_priority_updated_changes_the_severity(alerts_flare: Flare) -> None:
    async def send(payload: dict[str, Any], webhook_id: str) -> dict[str, Any]:
        body = json.dumps(payload).encode()
        status, answer = await alerts_flare.post(
            "/webhooks/pagerduty", data=body, headers=pd_headers(body, webhook_id=webhook_id)
        )
        assert status == 200, answer
        return dict(answer)

    assert (await send(pd_event("incident.triggered", urgency="low"), "wh-1"))["stored"] == 1
    updated = pd_event("incident.priority_updated", occurred="2026-01-05T10:05:00Z", urgency="low")
    updated["event"]["data"]["priority"] = {"id": "PSO4A2K", "summary": "P1", "type": "priority_reference"}
    answer = await send(updated, "wh-2")
    assert (answer["stored"], answer["updated"], answer["duplicates"]) == (0, 1, 0)
    (stored,) = await _alerts(alerts_flare)
    assert stored.severity == "P1"
    assert stored.labels["priority"] == "P1"
