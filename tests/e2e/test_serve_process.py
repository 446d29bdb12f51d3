"""`flare serve` as a process: readiness, a Slack round trip, SIGTERM within 8 s, and kill -9 recovery."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import aiohttp
import pytest

from bot.db.engine import Database
from bot.slack.outbox import enqueue, post_message
from tests.fakes.slack import FakeSlack
from tests.support.process import server_env, start_server
from tests.support.slack_client import SlackClient

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("event_loop", ["uvloop", "asyncio"])
async def test_serve_answers_slack_and_health_then_stops_on_sigterm_within_8s(
    fake_slack: FakeSlack, database_url: str, tmp_path: Path, event_loop: str
) -> None:
    env = server_env(
        fake_slack, database_url, METRICS_TOKEN="m-token-123", LOG_LEVEL="INFO", FLARE_EVENT_LOOP=event_loop
    )
    server = await start_server(env, tmp_path)
    try:
        async with aiohttp.ClientSession() as session:
            reply = await SlackClient(server.url, session).command(
                "/incident", "help", headers={"X-Request-Id": "req-e2e-1"}
            )
            assert reply.status == 200
            assert "/incident" in reply.json()["text"]
            async with session.get(server.url + "/health/deep") as response:
                body = await response.json()
            assert response.status == 200
            assert set(body["services"]) == {"database", "slack", "cloud_run", "sentry", "outbox", "paging"}
            assert body["services"]["slack"]["status"] == "healthy"

            # A request still in flight when SIGTERM arrives is answered before the process exits.
            fake_slack.delay = 1.0
            in_flight = asyncio.ensure_future(session.get(server.url + "/health/deep"))
            await asyncio.sleep(0.3)
            started = time.monotonic()
            server.process.send_signal(15)
            response = await in_flight
            assert response.status == 200
            code = await asyncio.to_thread(server.process.wait, 10)
            elapsed = time.monotonic() - started
    finally:
        server.kill()
    assert code == 0, server.log()
    assert elapsed < 8.0
    assert "Traceback" not in server.log()
    records = [json.loads(line) for line in server.log().splitlines() if line.startswith("{")]
    assert records, "no JSON log lines"
    [access] = [
        r for r in records if r.get("logger") == "flare.access" and r.get("request_id") == "req-e2e-1"
    ]
    assert (access["route"], access["status"], access["method"]) == ("/slack/events", 200, "POST")
    assert "m-token-123" not in server.log()
    assert any(r["message"] == "shutting down" for r in records)
    [listening] = [r for r in records if r["message"] == "listening"]
    assert listening["event_loop"] == event_loop


async def test_pending_messages_are_delivered_after_kill_9_and_restart(
    fake_slack: FakeSlack, database_url: str, tmp_path: Path
) -> None:
    env = server_env(
        fake_slack, database_url, FLARE_OUTBOX_LEASE_SECONDS="2", FLARE_OUTBOX_MAX_BACKOFF_SECONDS="0.5"
    )
    first = await start_server(env, tmp_path)
    fake_slack.fail("chat.postMessage", status=503, times=10_000)
    db = Database(database_url)
    try:
        async with db.transaction() as session:
            for i in range(5):
                await enqueue(session, post_message("C0RESTART1", text=f"survivor {i}"))
        await fake_slack.wait_for(lambda: len(fake_slack.calls_to("chat.postMessage")) >= 2, timeout=15)
        first.kill()
        fake_slack.faults.clear()
        attempts_before_restart = len(fake_slack.calls_to("chat.postMessage"))
        second = await start_server(env, tmp_path)
        try:
            await fake_slack.wait_for(lambda: len(fake_slack.posted("C0RESTART1")) == 5, timeout=20)
        finally:
            assert second.terminate() == 0
    finally:
        first.kill()
        await db.close()
    assert [m.text for m in fake_slack.posted("C0RESTART1")] == [f"survivor {i}" for i in range(5)]
    assert len(fake_slack.ok_calls("chat.postMessage")) == 5
    assert attempts_before_restart >= 2
