"""Each metric the issue lists moves when its code path runs, as Prometheus sees it on GET /metrics."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from bot.catalog import Catalog, parse_catalog
from bot.rollback.models import Rollback
from bot.settings import Settings
from tests.conftest import API_TOKEN, Flare, StartFlare
from tests.fakes.slack import FakeSlack
from tests.ops.conftest import FAST_DELIVERY
from tests.ops.helpers import samples, scrape, scrape_until, value
from tests.support.clock import ManualClock
from tests.support.waits import settle

AM_TOKEN_ENV = "FLARE_OPS_TEST_AM_TOKEN"
AM_TOKEN = "am-token-ops-0123456789"
DEPLOY_TOKEN_ENV = "FLARE_OPS_TEST_DEPLOY_TOKEN"
DEPLOY_TOKEN = "deploy-token-ops-0123456789"

CATALOG = f"""
channels:
  announcements: C0INCIDENTS
  deployments: C0DEPLOYS
teams:
  payments:
    channel: C0PAYMENTS
    responders: [U0BOB0001]
services:
  - name: checkout
    team: payments
    environments:
      production: {{project: acme-prod, region: us-central1, service: checkout}}
      staging: {{project: acme-staging, region: us-central1, service: checkout}}
rbac:
  staging:
    open: true
rollback:
  settle_seconds: 0
  operation_timeout_seconds: 10
routes:
  default:
    channels: [C0ALERTS1]
webhooks:
  alertmanager:
    token_env: {AM_TOKEN_ENV}
deploys:
  token_env: {DEPLOY_TOKEN_ENV}
"""

Start = Callable[..., Awaitable[Flare]]


@pytest.fixture
def ops_catalog() -> Catalog:
    """A catalog with an alert source, the deploy webhook and an open staging environment."""
    return parse_catalog(CATALOG, "flare.yaml")


@pytest.fixture
def start(
    start_flare: StartFlare,
    make_settings: Callable[..., Settings],
    ops_catalog: Catalog,
    monkeypatch: pytest.MonkeyPatch,
) -> Start:
    """Start a Flare with the ops catalog and the webhook tokens in its environment."""
    monkeypatch.setenv(AM_TOKEN_ENV, AM_TOKEN)
    monkeypatch.setenv(DEPLOY_TOKEN_ENV, DEPLOY_TOKEN)

    async def run(**kwargs: Any) -> Flare:
        return await start_flare(
            make_settings(flare_outbox_lease_seconds=1.0),
            catalog_=ops_catalog,
            dispatcher_config=FAST_DELIVERY,
            **kwargs,
        )

    return run


def am_payload(*alerts: tuple[str, str]) -> dict[str, Any]:
    """An Alertmanager v4 webhook with (alertname, status) alerts."""
    now = datetime.now(UTC).isoformat()
    return {
        "version": "4",
        "status": "firing",
        "receiver": "flare",
        "groupKey": '{}:{alertname="HighErrorRate"}',
        "groupLabels": {"alertname": "HighErrorRate"},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "truncatedAlerts": 0,
        "alerts": [
            {
                "status": status,
                "labels": {"alertname": name, "service": "checkout", "severity": "warning"},
                "annotations": {"summary": f"{name} on checkout"},
                "startsAt": now,
                "endsAt": now if status == "resolved" else "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus:9090/graph",
                "fingerprint": f"{abs(hash(name)):016x}",
            }
            for name, status in alerts
        ],
    }


async def test_http_latency_is_labelled_by_route_template_method_and_status(start: Start) -> None:
    flare = await start()
    assert (await flare.get("/health/live"))[0] == 200
    assert (await flare.get("/api/incidents/424242", headers={"Authorization": f"Bearer {API_TOKEN}"}))[
        0
    ] == 404
    assert (await flare.get("/no/such/path/98765"))[0] == 404
    exposition = await scrape(flare)
    count = "http_request_duration_seconds_count"
    assert value(exposition, count, route="/health/live", method="GET", status="200") == 1
    routes = {dict(labels).get("route") for (name, labels) in samples(exposition) if name == count}
    assert {"/api/incidents/{id}", "unmatched"} <= routes, routes
    assert not any(r and ("424242" in r or "98765" in r) for r in routes), "ids must not become labels"
    buckets = value(exposition, "http_request_duration_seconds_bucket", route="/health/live", le="+Inf")
    assert buckets == 1


async def test_slash_command_ack_latency_per_command(start: Start) -> None:
    flare = await start()
    for _ in range(2):
        assert (await flare.slack.command("/incident", "help")).status == 200
    assert (await flare.slack.command("/deploy", "help")).status == 200
    exposition = await scrape(flare)
    assert value(exposition, "slack_command_ack_seconds_count", command="/incident") == 2
    assert value(exposition, "slack_command_ack_seconds_count", command="/deploy") == 1
    assert (value(exposition, "slack_command_ack_seconds_sum", command="/incident") or 0) > 0


async def test_alerts_received_by_source_and_status_and_webhook_auth_failures(start: Start) -> None:
    flare = await start()
    auth = {"Authorization": f"Bearer {AM_TOKEN}"}
    payload = am_payload(("HighErrorRate", "firing"), ("HighLatency", "firing"), ("DiskFull", "resolved"))
    status, body = await flare.post("/webhooks/alertmanager", json=payload, headers=auth)
    assert status == 200, body
    status, _ = await flare.post("/webhooks/alertmanager", data=b"{not json", headers=auth)
    assert status == 400
    for _ in range(3):
        status, _ = await flare.post(
            "/webhooks/alertmanager", json=payload, headers={"Authorization": "Bearer nope"}
        )
        assert status == 401
    status, _ = await flare.post("/webhooks/deploy", json={}, headers={"Authorization": "Bearer nope"})
    assert status == 401

    exposition = await scrape(flare)
    assert value(exposition, "alerts_received_total", source="alertmanager", status="firing") == 2
    assert value(exposition, "alerts_received_total", source="alertmanager", status="resolved") == 1
    assert value(exposition, "alerts_received_total", source="alertmanager", status="invalid") == 1
    assert value(exposition, "webhook_auth_failures_total", source="alertmanager") == 3
    assert value(exposition, "webhook_auth_failures_total", source="deploy") == 1


async def test_incidents_open_by_severity_follows_declare_and_resolve(start: Start) -> None:
    flare = await start()
    for text in ("declare P1 checkout is failing --service checkout", "declare P2 slow search"):
        reply = await flare.slack.command("/incident", text)
        assert reply.status == 200
    exposition = await scrape(flare)
    assert value(exposition, "incidents_open", severity="P1") == 1
    assert value(exposition, "incidents_open", severity="P2") == 1
    assert value(exposition, "incidents_open", severity="P0") == 0
    assert (await flare.slack.command("/incident", "INC-1 resolve fixed")).status == 200
    exposition = await scrape(flare)
    assert value(exposition, "incidents_open", severity="P1") == 0
    assert value(exposition, "incidents_open", severity="P2") == 1


async def test_outbox_pending_count_and_oldest_age_while_slack_is_down(
    start: Start, fake_slack: FakeSlack
) -> None:
    clock = ManualClock()
    flare = await start(clock=clock)
    fake_slack.down = True
    assert (
        await flare.slack.command("/incident", "declare P1 checkout is failing --service checkout")
    ).status == 200
    # Slack's 503s on outbox calls are counted by method and error, and the items stay pending.
    await scrape_until(flare, "slack_api_errors_total", 1, error="HTTP 503")
    clock.advance(seconds=180)
    exposition = await scrape(flare)
    assert (value(exposition, "outbox_pending") or 0) >= 1
    assert (value(exposition, "outbox_oldest_pending_age_seconds") or 0) >= 180
    assert value(exposition, "outbox_failed_total") is None, "a 503 is retried, never dropped"

    fake_slack.down = False
    clock.advance(seconds=120)  # past any retry backoff
    await settle(flare, timeout=20)
    exposition = await scrape_until(flare, "outbox_delivery_seconds_count", 1, method="chat.postMessage")
    assert value(exposition, "outbox_pending") == 0
    assert value(exposition, "outbox_oldest_pending_age_seconds") == 0


async def test_slack_api_errors_by_method_and_error(start: Start, fake_slack: FakeSlack) -> None:
    flare = await start()
    fake_slack.fail("conversations.setTopic", status=200, error="not_in_channel")
    fake_slack.fail("pins.add", status=429, retry_after=0)
    assert (
        await flare.slack.command("/incident", "declare P1 checkout is failing --service checkout")
    ).status == 200
    await settle(flare)
    # Success is counted just after the item is marked sent: wait for the retried pin to show.
    exposition = await scrape_until(flare, "slack_api_calls_total", 1, method="pins.add", result="ok")
    assert (
        value(exposition, "slack_api_errors_total", method="conversations.setTopic", error="not_in_channel")
        == 1
    )
    assert (
        value(exposition, "outbox_failed_total", method="conversations.setTopic", error="not_in_channel") == 1
    )
    assert value(exposition, "slack_api_errors_total", method="pins.add", error="ratelimited") == 1
    assert value(exposition, "outbox_failed_total", method="pins.add") is None, (
        "a 429 is retried, not dropped"
    )
    assert value(exposition, "slack_api_calls_total", method="pins.add", result="ok") == 1


async def test_rollbacks_counted_by_service_env_and_result(start: Start, fake_slack: FakeSlack) -> None:
    flare = await start()
    reply = await flare.slack.command(
        "/rollback", "checkout --env staging", user="U0BOB0001", channel="C0OPSROOM1"
    )
    assert reply.status == 200
    change = await _wait_rollback(flare, "proposed")
    await settle(flare)
    await flare.slack.block_action("rollback_confirm", str(change.id), user="U0BOB0001", channel="C0OPSROOM1")
    done = await _wait_rollback(flare, "succeeded", "failed", "unhealthy", "unverified")
    # Counted just after the outcome is committed.
    exposition = await scrape_until(flare, "rollbacks_total", 1, service="checkout", env="staging")
    assert value(exposition, "rollbacks_total", service="checkout", env="staging", result=done.status) == 1
    assert done.status == "succeeded", done.detail


async def _wait_rollback(flare: Flare, *statuses: str, timeout: float = 15.0) -> Rollback:
    deadline = time.monotonic() + timeout
    while True:
        async with flare.container.db.sessions() as session:
            row = (await session.execute(select(Rollback).order_by(Rollback.id.desc()))).scalars().first()
        if row is not None and row.status in statuses:
            return row
        if time.monotonic() > deadline:
            raise AssertionError(f"rollback is {row.status if row else 'missing'}, not {statuses}")
        await asyncio.sleep(0.03)


async def test_deploys_counted_by_service_env_and_status(start: Start) -> None:
    flare = await start()
    auth = {"Authorization": f"Bearer {DEPLOY_TOKEN}", "Content-Type": "application/json"}
    event = {"service": "checkout", "env": "production", "deploy_id": "gh-1", "commit_sha": "4f2c9e1d8b7a"}
    for status in ("started", "succeeded"):
        code, body = await flare.post(
            "/webhooks/deploy", data=json.dumps({**event, "status": status}), headers=auth
        )
        assert code == 200, body
    code, body = await flare.post(
        "/webhooks/deploy", data=json.dumps({**event, "status": "succeeded"}), headers=auth
    )
    assert code == 200, body  # a retry of the same status changes nothing
    exposition = await scrape(flare)
    assert value(exposition, "deploys_total", service="checkout", env="production", status="started") == 1
    assert value(exposition, "deploys_total", service="checkout", env="production", status="succeeded") == 1
    assert (value(exposition, "delivery_deploys", service="checkout", env="production") or 0) == 1
