"""POST /webhooks/sentry: signed integration webhooks (issue alerts, metric alerts, issue resolution)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from tests.alerts.conftest import SENTRY_SECRET, sentry_headers, stored_alerts, stored_groups
from tests.conftest import Flare
from tests.fakes.slack import FakeSlack

URL = "/webhooks/sentry"


def event_alert(issue_id: str = "1117540176", level: str = "fatal") -> dict[str, Any]:
    return {
        "action": "triggered",
        "installation": {"uuid": "7a485448-a9e2-4c85-8a3c-4f44175783c9"},
        "data": {
            "event": {
                "event_id": "a1b2c3",
                "issue_id": issue_id,
                "project": 1,
                "title": "ZeroDivisionError: division by zero",
                "culprit": "checkout.views.pay",
                "level": level,
                "web_url": f"https://sentry.io/organizations/acme/issues/{issue_id}/events/a1b2c3/",
                "issue_url": f"https://sentry.io/api/0/issues/{issue_id}/",
                "datetime": "2026-01-05T10:00:00.391000Z",
                "tags": [["environment", "production"], ["service", "checkout"], ["level", level]],
            },
            "triggered_rule": "Checkout errors",
        },
        "actor": {"type": "application", "id": "sentry", "name": "Sentry"},
    }


def metric_alert(action: str) -> dict[str, Any]:
    return {
        "action": action,
        "data": {
            "metric_alert": {
                "id": "4432",
                "identifier": "8",
                "title": "Checkout p95 latency",
                "alert_rule": {"id": "12", "name": "Checkout p95 latency", "projects": ["checkout"]},
                "date_started": "2026-01-05T10:00:00Z",
                "date_detected": "2026-01-05T10:00:00Z",
                "date_closed": "2026-01-05T10:20:00Z" if action == "resolved" else None,
                "status": 20,
            },
            "description_text": "1000 transactions over 2s in the last 10 minutes",
            "description_title": "Critical: Checkout p95 latency",
            "web_url": "https://sentry.io/organizations/acme/alerts/rules/details/12/",
        },
    }


async def send(flare: Flare, payload: Any, resource: str, **kw: Any) -> tuple[int, Any]:
    body = json.dumps(payload).encode()
    return await flare.post(URL, data=body, headers=sentry_headers(body, resource, **kw))


async def test_issue_alert_fires_and_issue_resolution_closes_it(
    alerts_flare: Flare, fake_slack: FakeSlack
) -> None:
    status, answer = await send(alerts_flare, event_alert(), "event_alert")
    assert (status, answer["stored"]) == (200, 1)
    (row,) = await stored_alerts(alerts_flare)
    assert (row.dedup_key, row.service, row.severity, row.env) == (
        "issue:1117540176",
        "checkout",
        "fatal",
        "production",
    )
    assert row.links["source"].startswith("https://sentry.io/organizations/acme/issues/1117540176/")
    # The same issue triggering again while open joins the stored occurrence.
    again = event_alert()
    again["data"]["event"]["datetime"] = "2026-01-05T10:07:00Z"
    status, answer = await send(alerts_flare, again, "event_alert")
    assert (status, answer["stored"], answer["duplicates"]) == (200, 0, 1)

    resolved = {"action": "resolved", "data": {"issue": {"id": "1117540176", "title": "ZeroDivisionError"}}}
    status, answer = await send(alerts_flare, resolved, "issue")
    assert (status, answer["resolved"]) == (200, 1)
    (row,) = await stored_alerts(alerts_flare)
    assert row.status == "resolved"
    (group,) = await stored_groups(alerts_flare)
    assert group.resolved_at is not None
    await fake_slack.wait_for(lambda: len(fake_slack.posted()) == 1)


async def test_metric_alert_critical_then_resolved(alerts_flare: Flare) -> None:
    status, answer = await send(alerts_flare, metric_alert("critical"), "metric_alert")
    assert (status, answer["stored"]) == (200, 1)
    status, answer = await send(alerts_flare, metric_alert("resolved"), "metric_alert")
    assert (status, answer["resolved"]) == (200, 1)
    (row,) = await stored_alerts(alerts_flare)
    assert (row.dedup_key, row.status, row.ends_at.minute) == ("metric:4432", "resolved", 20)


async def test_a_retried_delivery_with_the_same_request_id_is_stored_once(alerts_flare: Flare) -> None:
    body = json.dumps(event_alert("77")).encode()
    headers = sentry_headers(body, "event_alert")
    first = await alerts_flare.post(URL, data=body, headers=headers)
    second = await alerts_flare.post(URL, data=body, headers=headers)
    assert first[1]["status"] == "ok"
    assert second[1]["status"] == "duplicate"
    assert len(await stored_alerts(alerts_flare)) == 1


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ("bad-signature", "does not match"),
        ("other-secret", "does not match"),
        ("no-signature", "missing Sentry-Hook-Signature"),
        ("no-timestamp", "missing Sentry-Hook-Timestamp"),
        ("stale", "more than 300 seconds"),
        ("garbage-timestamp", "not a Unix timestamp"),
    ],
)
async def test_bad_signatures_and_stale_timestamps_are_401(
    alerts_flare: Flare, change: str, reason: str
) -> None:
    body = json.dumps(event_alert()).encode()
    headers = sentry_headers(body, "event_alert")
    if change == "bad-signature":
        headers["Sentry-Hook-Signature"] = "ab" * 32
    elif change == "other-secret":
        headers = sentry_headers(body, "event_alert", secret="someone-else")
    elif change == "no-signature":
        del headers["Sentry-Hook-Signature"]
    elif change == "no-timestamp":
        del headers["Sentry-Hook-Timestamp"]
    elif change == "stale":
        headers = sentry_headers(body, "event_alert", ts=time.time() - 600)
    elif change == "garbage-timestamp":
        headers["Sentry-Hook-Timestamp"] = "yesterday"
    status, answer = await alerts_flare.post(URL, data=body, headers=headers)
    assert status == 401
    assert reason in answer["reason"]
    assert SENTRY_SECRET not in str(answer)
    assert await stored_alerts(alerts_flare) == []


async def test_the_per_source_body_limit_is_413(alerts_flare: Flare) -> None:
    payload = event_alert()
    payload["data"]["event"]["culprit"] = "x" * 70000  # the catalog limits Sentry to 64 KiB
    status, answer = await send(alerts_flare, payload, "event_alert")
    assert status == 413
    assert "65536" in answer["reason"]


@pytest.mark.parametrize(
    ("payload", "resource", "field"),
    [
        ({"action": "triggered"}, "event_alert", "data"),
        ({"data": {}}, "event_alert", "data.event"),
        ({"data": {"event": {"title": "x"}}}, "event_alert", "data.event.issue_id"),
        ({"data": {"event": {"issue_id": "1", "tags": "x"}}}, "event_alert", "data.event.tags"),
        ({"data": {"event": {"issue_id": "1", "tags": [["a"]]}}}, "event_alert", "data.event.tags[0]"),
        ({"action": "pending", "data": {}}, "metric_alert", "action"),
        ({"action": "critical", "data": {"metric_alert": {}}}, "metric_alert", "data.metric_alert.id"),
    ],
)
async def test_malformed_payloads_are_400(
    alerts_flare: Flare, payload: Any, resource: str, field: str
) -> None:
    status, answer = await send(alerts_flare, payload, resource)
    assert (status, answer["field"]) == (400, field)


async def test_resources_without_alerts_are_acknowledged_and_ignored(alerts_flare: Flare) -> None:
    status, answer = await send(alerts_flare, {"action": "created", "data": {}}, "installation")
    assert (status, answer["status"]) == (200, "ignored")
    status, answer = await send(alerts_flare, {"action": "assigned", "data": {"issue": {"id": "1"}}}, "issue")
    assert (status, answer["status"]) == (200, "ignored")
    assert await stored_alerts(alerts_flare) == []
