"""POST /webhooks/pagerduty: v3 webhooks, any matching v1= signature, X-Webhook-Id dedup."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.alerts.conftest import PD_SECRET, pd_headers, stored_alerts, stored_groups
from tests.conftest import Flare
from tests.fakes.slack import FakeSlack

URL = "/webhooks/pagerduty"


def pd_event(
    event_type: str, *, occurred: str = "2026-01-05T10:00:05Z", urgency: str = "high"
) -> dict[str, Any]:
    return {
        "event": {
            "id": "01DEN4HPBQAM0MH4WBOOE7Q5VK",
            "event_type": event_type,
            "resource_type": "incident",
            "occurred_at": occurred,
            "agent": {"type": "service_reference"},
            "data": {
                "id": "PGR0VU2",
                "type": "incident",
                "self": "https://api.pagerduty.com/incidents/PGR0VU2",
                "html_url": "https://acme.pagerduty.com/incidents/PGR0VU2",
                "number": 2,
                "status": "triggered" if event_type == "incident.triggered" else "resolved",
                "incident_key": "d3640fbd41094207a1c11e58e46b1662",
                "created_at": "2026-01-05T10:00:00Z",
                "title": "Checkout is returning 500s",
                "service": {"id": "PF9KMXH", "summary": "Checkout", "type": "service_reference"},
                "urgency": urgency,
            },
        }
    }


async def send(flare: Flare, payload: Any, webhook_id: str, **kw: Any) -> tuple[int, Any]:
    body = json.dumps(payload).encode()
    return await flare.post(URL, data=body, headers=pd_headers(body, webhook_id=webhook_id, **kw))


async def test_triggered_then_resolved(alerts_flare: Flare, fake_slack: FakeSlack) -> None:
    status, answer = await send(alerts_flare, pd_event("incident.triggered"), "wh-1")
    assert (status, answer["stored"]) == (200, 1)
    (row,) = await stored_alerts(alerts_flare)
    assert (row.dedup_key, row.service, row.severity, row.status) == (
        "incident:PGR0VU2",
        "checkout",
        "critical",
        "firing",
    )
    # urgency high -> "critical" -> the checkout-critical route
    (group,) = await stored_groups(alerts_flare)
    assert (group.channel, group.severity) == ("C0PAYCRIT", "P1")

    status, answer = await send(
        alerts_flare, pd_event("incident.resolved", occurred="2026-01-05T10:30:00Z"), "wh-2"
    )
    assert (status, answer["resolved"]) == (200, 1)
    (row,) = await stored_alerts(alerts_flare)
    assert (row.status, row.ends_at.minute) == ("resolved", 30)
    await fake_slack.wait_for(lambda: len(fake_slack.posted("C0PAYCRIT")) == 1)


async def test_a_redelivered_webhook_id_is_a_noop(alerts_flare: Flare) -> None:
    first = await send(alerts_flare, pd_event("incident.triggered"), "wh-same")
    second = await send(alerts_flare, pd_event("incident.triggered"), "wh-same")
    assert (first[1]["status"], second[1]["status"]) == ("ok", "duplicate")
    assert len(await stored_alerts(alerts_flare)) == 1


async def test_any_matching_v1_signature_is_enough(alerts_flare: Flare) -> None:
    status, _ = await send(
        alerts_flare, pd_event("incident.triggered"), "wh-3", secrets=("old-secret", PD_SECRET)
    )
    assert status == 200


@pytest.mark.parametrize(
    "header",
    [None, "", "v1=" + "0" * 64, "v2=abc", "v1=" + "0" * 64 + ",v1=" + "1" * 64, "sha256=abc"],
)
async def test_bad_signatures_are_401(alerts_flare: Flare, header: str | None) -> None:
    body = json.dumps(pd_event("incident.triggered")).encode()
    headers = pd_headers(body, webhook_id="wh-x")
    if header is None:
        del headers["X-PagerDuty-Signature"]
    else:
        headers["X-PagerDuty-Signature"] = header
    status, answer = await alerts_flare.post(URL, data=body, headers=headers)
    assert status == 401
    assert "X-PagerDuty-Signature" in answer["reason"]
    assert await stored_alerts(alerts_flare) == []


async def test_other_event_types_are_acknowledged_without_storing(alerts_flare: Flare) -> None:
    for kind in ("incident.acknowledged", "incident.annotated"):
        status, answer = await send(alerts_flare, pd_event(kind), f"wh-{kind}")
        assert (status, answer["status"]) == (200, "ignored")
    assert await stored_alerts(alerts_flare) == []


async def test_reopened_is_a_new_occurrence(alerts_flare: Flare) -> None:
    await send(alerts_flare, pd_event("incident.triggered"), "a")
    await send(alerts_flare, pd_event("incident.resolved", occurred="2026-01-05T10:10:00Z"), "b")
    await send(alerts_flare, pd_event("incident.reopened", occurred="2026-01-05T11:00:00Z"), "c")
    rows = await stored_alerts(alerts_flare)
    assert [(r.status, r.starts_at.hour) for r in rows] == [("resolved", 10), ("firing", 11)]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "event"),
        ({"event": {"data": {}}}, "event.event_type"),
        ({"event": {"event_type": "incident.triggered"}}, "event.data"),
        ({"event": {"event_type": "incident.triggered", "data": {"title": "x"}}}, "event.data.id"),
        (
            {"event": {"event_type": "incident.triggered", "data": {"id": "P1", "service": "x"}}},
            "event.data.service",
        ),
        (
            {"event": {"event_type": "incident.triggered", "occurred_at": 12.5e300, "data": {"id": "P1"}}},
            "event.occurred_at",
        ),
    ],
)
async def test_malformed_payloads_are_400(alerts_flare: Flare, payload: Any, field: str) -> None:
    status, answer = await send(alerts_flare, payload, "wh-bad")
    assert (status, answer["field"]) == (400, field)
