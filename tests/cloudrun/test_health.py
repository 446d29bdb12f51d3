"""/health <service>: concurrent checks from the catalog only, each with a timeout and a criticality."""

from __future__ import annotations

import re
import socket
import time

from bot.catalog import parse_catalog
from bot.health.service import parse_three_tier
from tests.cloudrun.conftest import ALICE, CATALOG, StartCR
from tests.cloudrun.helpers import ephemerals
from tests.fakes.cloudrun import FakeEndpoints
from tests.fakes.slack import FakeSlack, Message
from tests.support.messages import text_of

CHANNEL = "C0OPSROOM1"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def catalog_with_checks(endpoints: FakeEndpoints) -> str:
    checks = f"""
          url: {endpoints.url("checkout/health")}
          timeout_seconds: 2
          dependencies:
            - name: slow-api
              type: http
              url: {endpoints.url("slow")}
              timeout_seconds: 2
            - name: failing-api
              type: http
              url: {endpoints.url("fail")}
              critical: false
            - name: hanging-api
              type: http
              url: {endpoints.url("hang")}
              timeout_seconds: 0.6
            - name: postgres
              type: tcp
              host: 127.0.0.1
              port: {endpoints.port}
            - name: redis
              type: tcp
              host: 127.0.0.1
              port: {closed_port()}
              critical: false
"""
    text = CATALOG.format(health_url="X", dep_url="Y")
    start = text.index("          url: X")
    end = text.index("      staging:")
    return text[:start] + checks.lstrip("\n") + text[end:]


async def run_health(
    cr_start: StartCR, endpoints: FakeEndpoints, fake_slack: FakeSlack
) -> tuple[Message, float]:
    cr = await cr_start(catalog=parse_catalog(catalog_with_checks(endpoints)))
    started = time.perf_counter()
    reply = await cr.slack.command("/health", "checkout", user=ALICE, channel=CHANNEL)
    assert "Checking checkout (production)" in reply.json()["text"]
    await fake_slack.wait_for(lambda: bool(fake_slack.posted(CHANNEL)))
    return fake_slack.posted(CHANNEL)[-1], time.perf_counter() - started


async def test_slow_failing_and_timing_out_checks_run_concurrently(
    start_cr: StartCR, endpoints: FakeEndpoints, fake_slack: FakeSlack
) -> None:
    endpoints.health("checkout/health", "degraded", {"db": "healthy", "search": "degraded"})
    endpoints.set("slow", 200, {"ok": True}, delay=0.5)
    endpoints.set("fail", 500, {"error": "boom"})
    endpoints.set("hang", 200, {}, delay=5.0)
    message, elapsed = await run_health(start_cr, endpoints, fake_slack)
    body = text_of(message)
    # A critical check timed out: unhealthy overall.
    assert "Health of checkout · production: unhealthy" in body
    assert "`hanging-api` *unhealthy*" in body
    assert "timed out after 0.6s" in body
    assert "`failing-api` *unhealthy*" in body
    assert "HTTP 500, expected 200" in body
    assert "`slow-api` *healthy*" in body
    assert "`postgres` *healthy*" in body
    assert "`redis` *unhealthy*" in body
    # The three-tier JSON: reported status and the sub-services with their latencies.
    assert "`health` *degraded*" in body
    assert "`search` degraded · 12.5 ms (reported)" in body
    latencies = {
        name: float(ms.replace(",", "")) for name, ms in re.findall(r"`([\w-]+)` \*\w+\* · ([\d,]+) ms", body)
    }
    assert 450 <= latencies["slow-api"] < 1500
    assert 550 <= latencies["hanging-api"] < 1500
    total = float(re.search(r"total ([\d.]+) s", body).group(1))  # type: ignore[union-attr]
    # About the slowest check (0.6 s), not the sum (0.5 + 0.6 + ...).
    assert 0.55 <= total < 1.05
    assert elapsed < 3.0


async def test_only_non_critical_failures_is_degraded(
    start_cr: StartCR, endpoints: FakeEndpoints, fake_slack: FakeSlack
) -> None:
    endpoints.set("slow", 200, {"ok": True})
    endpoints.set("fail", 503, "down")
    endpoints.set("hang", 200, {})
    message, _ = await run_health(start_cr, endpoints, fake_slack)
    assert "Health of checkout · production: degraded" in text_of(message)


async def test_health_urls_come_only_from_the_catalog(
    start_cr: StartCR, endpoints: FakeEndpoints, fake_slack: FakeSlack
) -> None:
    cr = await start_cr()
    for text in (
        "http://169.254.169.254/computeMetadata/v1/",
        "checkout http://127.0.0.1:1/",
        "checkout --url x",
    ):
        body = (await cr.slack.command("/health", text, user=ALICE, channel=CHANNEL)).json()
        assert body["response_type"] == "ephemeral"
        assert "Usage" in body["text"]
    assert fake_slack.posted(CHANNEL) == []
    assert dict(endpoints.hits) == {}


async def test_a_service_without_checks_says_how_to_add_them(
    start_cr: StartCR, fake_slack: FakeSlack
) -> None:
    cr = await start_cr()
    await cr.slack.command("/health", "search", user=ALICE, channel=CHANNEL)
    await fake_slack.wait_for(lambda: any("health.url" in t for t in ephemerals(fake_slack, ALICE)))


def test_three_tier_parsing() -> None:
    status, services = parse_three_tier(
        {"status": "OK", "services": {"db": {"status": "down", "latency_ms": 3}, "q": "warn"}}
    )
    assert status == "healthy"
    assert services == {"db": {"status": "unhealthy", "latency_ms": 3.0}, "q": {"status": "degraded"}}
    assert parse_three_tier(["not", "a", "dict"]) == (None, {})
    assert parse_three_tier({"status": "weird"})[0] is None
