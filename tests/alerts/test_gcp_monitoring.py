"""POST /webhooks/gcp-monitoring: basic auth or ?token=, schema 1.2 and the console's test."""

from __future__ import annotations

from typing import Any

import pytest

from tests.alerts.conftest import GCP_PASSWORD, GCP_TOKEN, GCP_USER, basic, block_text, stored_alerts
from tests.conftest import Flare
from tests.fakes.slack import FakeSlack

URL = "/webhooks/gcp-monitoring"


def incident(state: str = "open", **extra: Any) -> dict[str, Any]:
    """A Cloud Monitoring 1.2 notification for a Cloud Run service."""
    body: dict[str, Any] = {
        "incident_id": "0.nb8lfwkxp9g0",
        "scoping_project_id": "acme-prod",
        "scoping_project_number": 12345,
        "url": "https://console.cloud.google.com/monitoring/alerting/incidents/0.nb8lfwkxp9g0?project=acme-prod",
        "started_at": 1767607200,
        "ended_at": None if state == "open" else 1767607500,
        "state": state,
        "summary": "Request latency for checkout is above the threshold of 2.000 with a value of 3.100.",
        "resource": {
            "type": "cloud_run_revision",
            "labels": {"service_name": "checkout", "location": "us-central1", "project_id": "acme-prod"},
        },
        "metadata": {"system_labels": {}, "user_labels": {}},
        "policy_name": "Checkout latency",
        "policy_user_labels": {"severity": "critical", "env": "production"},
        "condition_name": "p99 latency > 2s",
        "severity": "Critical",
        "documentation": {
            "content": "See the runbook.",
            "mime_type": "text/markdown",
            "links": [{"displayName": "Runbook", "url": "https://runbooks.example/checkout-latency"}],
        },
    }
    body.update(extra)
    return {"version": "1.2", "incident": body}


async def test_open_then_closed_with_basic_auth(alerts_flare: Flare, fake_slack: FakeSlack) -> None:
    auth = basic(GCP_USER, GCP_PASSWORD)
    status, answer = await alerts_flare.post(URL, json=incident(), headers=auth)
    assert (status, answer["stored"]) == (200, 1)
    (row,) = await stored_alerts(alerts_flare)
    assert (row.source, row.dedup_key, row.status, row.service, row.env) == (
        "gcp_monitoring",
        "0.nb8lfwkxp9g0",
        "firing",
        "checkout",
        "production",
    )
    assert row.links["runbook"] == "https://runbooks.example/checkout-latency"
    # severity "Critical" -> the checkout-critical route (P1) in C0PAYCRIT
    await fake_slack.wait_for(lambda: len(fake_slack.posted("C0PAYCRIT")) == 1)
    message = fake_slack.posted("C0PAYCRIT")[0]
    assert "[P1] Checkout latency" in block_text(message.blocks)

    status, answer = await alerts_flare.post(URL, json=incident("closed"), headers=auth)
    assert (status, answer["resolved"]) == (200, 1)
    status, answer = await alerts_flare.post(URL, json=incident("closed"), headers=auth)
    assert (status, answer["resolved"], answer["duplicates"]) == (200, 0, 1)
    (row,) = await stored_alerts(alerts_flare)
    assert row.status == "resolved"
    await fake_slack.wait_for(
        lambda: "resolved after 5m\n" in block_text(message.blocks) + "\n"
    )  # "5m", never "5m 0s"


async def test_token_in_the_query_string_is_accepted(alerts_flare: Flare) -> None:
    status, _ = await alerts_flare.post(f"{URL}?token={GCP_TOKEN}", json=incident())
    assert status == 200
    status, answer = await alerts_flare.post(f"{URL}?token=wrong", json=incident())
    assert status == 401
    assert "?token=" in answer["reason"]


@pytest.mark.parametrize(
    "headers",
    [{}, basic(GCP_USER, "wrong"), basic("someone", GCP_PASSWORD), {"Authorization": "Basic !!!notbase64"}],
)
async def test_bad_credentials_are_401(alerts_flare: Flare, headers: dict[str, str]) -> None:
    status, _ = await alerts_flare.post(URL, json=incident(), headers=headers)
    assert status == 401
    assert await stored_alerts(alerts_flare) == []


async def test_the_console_test_notification_is_accepted(alerts_flare: Flare, fake_slack: FakeSlack) -> None:
    # What the console's "Send test notification" sends: documentation as a string, version "test".
    test = {
        "incident": {
            "condition_name": "test condition",
            "documentation": "Test documentation",
            "ended_at": None,
            "incident_id": "12345",
            "metadata": {"system_labels": {}, "user_labels": {}},
            "observed_value": "1.000",
            "policy_name": "Test Policy",
            "resource_display_name": "My Test Resource",
            "resource_id": "",
            "resource_name": "My Test Resource",
            "resource_type_display_name": "My Test Resource Type",
            "scoping_project_id": "acme-prod",
            "scoping_project_number": 12345,
            "severity": "no severity",
            "started_at": 0,
            "state": "OPEN",
            "summary": "Test Incident",
            "threshold_value": "1",
            "url": "http://www.example.com",
        },
        "version": "test",
    }
    status, answer = await alerts_flare.post(URL, json=test, headers=basic(GCP_USER, GCP_PASSWORD))
    assert (status, answer["status"], answer["channels"]) == (200, "test received", ["C0ALERTS1"])
    assert await stored_alerts(alerts_flare) == []  # a test is not an alert
    await fake_slack.wait_for(lambda: len(fake_slack.posted("C0ALERTS1")) == 1)
    assert "Test notification from Cloud Monitoring received" in fake_slack.posted("C0ALERTS1")[0].text


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"version": "1.2"}, "incident"),
        ({"version": "1.2", "incident": []}, "incident"),
        ({"version": "1.2", "incident": {"state": "open"}}, "incident.incident_id"),
        ({"version": "1.2", "incident": {"incident_id": "x", "state": "pending"}}, "incident.state"),
        (
            {"version": "1.2", "incident": {"incident_id": "x", "state": "open", "started_at": "soon"}},
            "incident.started_at",
        ),
        ({"version": "1.2", "incident": {"incident_id": {}, "state": "open"}}, "incident.incident_id"),
        (
            {"version": "1.2", "incident": {"incident_id": "x", "state": "open", "resource": 4}},
            "incident.resource",
        ),
    ],
)
async def test_malformed_payloads_are_400(alerts_flare: Flare, payload: dict[str, Any], field: str) -> None:
    status, answer = await alerts_flare.post(URL, json=payload, headers=basic(GCP_USER, GCP_PASSWORD))
    assert (status, answer["field"]) == (400, field)
