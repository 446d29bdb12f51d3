"""Health endpoints, metrics access, and JSON errors for bad HTTP requests."""

from __future__ import annotations

import time
from collections.abc import Callable

from bot.settings import Settings
from tests.conftest import METRICS_TOKEN, Flare, StartFlare
from tests.fakes.cloudrun import FakeCloudRun
from tests.fakes.slack import FakeSlack


async def test_live_does_no_io(start_flare: StartFlare, make_settings: Callable[..., Settings]) -> None:
    flare = await start_flare(make_settings(database_url="postgresql+asyncpg://nobody@127.0.0.1:1/none"))
    status, body = await flare.get("/health/live")
    assert (status, body) == (200, {"status": "ok"})


async def test_ready_is_200_with_a_database(flare: Flare) -> None:
    status, body = await flare.get("/health/ready")
    assert (status, body) == (200, {"status": "ready"})


async def test_ready_and_deep_are_503_when_the_database_is_down(
    start_flare: StartFlare, make_settings: Callable[..., Settings]
) -> None:
    flare = await start_flare(make_settings(database_url="postgresql+asyncpg://nobody@127.0.0.1:1/none"))
    status, body = await flare.get("/health/ready")
    assert status == 503
    assert body["status"] == "unavailable"
    assert body["reason"].startswith("database")
    status, body = await flare.get("/health/deep")
    assert status == 503
    assert body["status"] == "unhealthy"
    assert body["services"]["database"]["status"] == "unhealthy"
    assert body["services"]["slack"]["status"] == "healthy", "every check is still reported"


async def test_sqlite_file_that_cannot_be_opened_is_not_ready(
    start_flare: StartFlare, make_settings: Callable[..., Settings], tmp_path: object
) -> None:
    flare = await start_flare(make_settings(database_url="sqlite+aiosqlite:////nonexistent/dir/flare.db"))
    status, _ = await flare.get("/health/ready")
    assert status == 503


async def test_deep_reports_every_check_with_status_and_latency(flare: Flare) -> None:
    status, body = await flare.get("/health/deep")
    assert status == 200
    assert body["check"] == "deep"
    assert set(body["services"]) == {"database", "slack", "cloud_run", "sentry", "outbox", "paging"}
    for check in body["services"].values():
        assert check["status"] in {"healthy", "degraded", "unhealthy"}
        assert isinstance(check["latency_ms"], float | int)
    assert body["services"]["database"]["status"] == "healthy"
    assert body["services"]["slack"]["status"] == "healthy"
    assert body["services"]["cloud_run"]["status"] == "healthy"
    assert body["services"]["sentry"]["status"] == "degraded"
    summary = body["summary"]
    assert summary["total"] == 6
    assert summary["healthy"] + summary["degraded"] + summary["unhealthy"] == 6
    assert body["status"] == "degraded", "a non-critical check that is not healthy degrades the whole"


async def test_deep_is_degraded_not_down_when_slack_fails(flare: Flare, fake_slack: FakeSlack) -> None:
    fake_slack.fail("auth.test", status=200, error="invalid_auth", times=5)
    status, body = await flare.get("/health/deep")
    assert status == 200
    assert body["services"]["slack"]["status"] == "unhealthy"
    assert "invalid_auth" in body["services"]["slack"]["detail"]
    assert body["status"] == "degraded"


async def test_deep_runs_checks_concurrently(flare: Flare, fake_slack: FakeSlack) -> None:
    fake_slack.delay = 1.0
    started = time.monotonic()
    status, body = await flare.get("/health/deep")
    elapsed = time.monotonic() - started
    assert status == 200
    assert body["services"]["slack"]["latency_ms"] >= 900
    assert elapsed < 1.8, "checks ran one after another"


async def test_deep_times_out_a_hanging_check(flare: Flare, fake_slack: FakeSlack) -> None:
    fake_slack.delay = 5.0
    started = time.monotonic()
    status, body = await flare.get("/health/deep")
    assert time.monotonic() - started < 4.5
    assert body["services"]["slack"]["status"] == "unhealthy"
    assert "timed out" in body["services"]["slack"]["detail"]
    assert status == 200


async def test_metrics_need_the_bearer_token(flare: Flare) -> None:
    status, body = await flare.get("/metrics")
    assert status == 401
    assert body["error"] == "unauthorized"
    status, _ = await flare.get("/metrics", headers={"Authorization": "Bearer wrong"})
    assert status == 401
    status, text = await flare.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert status == 200
    assert "outbox_pending 0.0" in text
    assert "http_request_duration_seconds_bucket" in text


async def test_metrics_are_off_without_a_token(
    start_flare: StartFlare, make_settings: Callable[..., Settings]
) -> None:
    flare = await start_flare(make_settings(metrics_token=None))
    status, body = await flare.get("/metrics", headers={"Authorization": "Bearer anything"})
    assert status == 404
    assert "METRICS_TOKEN" in body["reason"]


async def test_unknown_route_is_a_json_404(flare: Flare) -> None:
    status, body = await flare.get("/nope")
    assert status == 404
    assert body == {"error": "not_found", "reason": "no such endpoint: GET /nope"}


async def test_wrong_method_is_a_json_405(flare: Flare) -> None:
    status, body = await flare.get("/slack/events")
    assert status == 405
    assert body["error"] == "method_not_allowed"
    assert body["reason"] == "GET is not allowed on /slack/events; use POST"


async def test_oversized_body_is_a_json_413(flare: Flare) -> None:
    status, body = await flare.post(
        "/slack/events", data=b"x" * (1024 * 1024 + 1), headers={"Content-Type": "application/json"}
    )
    assert status == 413
    assert body["error"] == "payload_too_large"
    assert "limit" in body["reason"]


async def test_oversized_chunked_body_is_a_json_413(flare: Flare) -> None:
    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(20):
            yield b"x" * 65536

    status, body = await flare.post(
        "/slack/events", data=chunks(), headers={"Content-Type": "application/json"}
    )
    assert status == 413
    assert body["error"] == "payload_too_large"


async def test_every_response_carries_a_request_id(flare: Flare) -> None:
    async with flare.http.get(flare.url + "/health/live", headers={"X-Request-Id": "abc-123"}) as response:
        assert response.headers["X-Request-Id"] == "abc-123"
    async with flare.http.get(flare.url + "/health/live") as response:
        assert len(response.headers["X-Request-Id"]) == 32


async def test_deep_reports_a_cloud_run_outage_as_degraded(flare: Flare, fake_cloudrun: FakeCloudRun) -> None:
    fake_cloudrun.fail("get_service", 503, times=10_000)
    started = time.monotonic()
    status, body = await flare.get("/health/deep")
    assert status == 200
    assert body["services"]["cloud_run"]["status"] == "unhealthy"
    assert body["status"] == "degraded"
    assert time.monotonic() - started < 5.5, "a Cloud Run outage held up the whole health check"
