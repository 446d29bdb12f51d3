"""Deep health of a catalog service: its health URL (three-tier JSON) and its dependency probes.

Every target comes from the catalog, never from what a user typed, so a command cannot make
Flare fetch an arbitrary URL. Checks run concurrently, each under its own timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import aiohttp

from bot.catalog.services import DependencyCheck, HealthSettings
from bot.cloudrun.render import context, header, pack_lines
from bot.cloudrun.text import code
from bot.health.checks import Outcome, Probe, Report, Status, run_probes
from bot.slack.escape import escape, safe

MAX_BODY = 64 * 1024
MAX_SUBSERVICES = 20
STATUS_WORDS: dict[str, Status] = {
    "healthy": "healthy",
    "ok": "healthy",
    "pass": "healthy",
    "up": "healthy",
    "green": "healthy",
    "degraded": "degraded",
    "warn": "degraded",
    "warning": "degraded",
    "yellow": "degraded",
    "unhealthy": "unhealthy",
    "fail": "unhealthy",
    "down": "unhealthy",
    "error": "unhealthy",
    "critical": "unhealthy",
    "red": "unhealthy",
}
ICON: dict[str, str] = {
    "healthy": ":large_green_circle:",
    "degraded": ":large_yellow_circle:",
    "unhealthy": ":red_circle:",
}


def status_word(value: object) -> Status | None:
    """A reported status mapped to ours (None if unrecognised)."""
    return STATUS_WORDS.get(str(value).strip().lower()) if value is not None else None


def parse_three_tier(body: object) -> tuple[Status | None, dict[str, dict[str, Any]]]:
    """(overall status, {name: {status, latency_ms}}) from `{status, services{...}}` JSON."""
    if not isinstance(body, dict):
        return None, {}
    overall = status_word(body.get("status"))
    services: dict[str, dict[str, Any]] = {}
    raw = body.get("services")
    if isinstance(raw, dict):
        for name, entry in list(raw.items())[:MAX_SUBSERVICES]:
            item: dict[str, Any] = {}
            if isinstance(entry, dict):
                item["status"] = status_word(entry.get("status")) or str(entry.get("status", "?"))[:20]
                latency = entry.get("latency_ms")
                if isinstance(latency, int | float):
                    item["latency_ms"] = round(float(latency), 1)
            else:
                item["status"] = status_word(entry) or str(entry)[:20]
            services[str(name)[:60]] = item
    return overall, services


async def _get(http: aiohttp.ClientSession, url: str, timeout: float) -> tuple[int, str]:
    # No redirects: a catalog URL must not be bounced somewhere else.
    async with http.get(
        url, allow_redirects=False, timeout=aiohttp.ClientTimeout(total=timeout + 1.0)
    ) as response:
        raw = await response.content.read(MAX_BODY)
        return response.status, raw.decode(errors="replace")


def health_url_probe(http: aiohttp.ClientSession, settings: HealthSettings) -> Probe:
    """The service's own health URL; the three-tier JSON decides the status when present."""
    url = settings.url or ""

    async def run() -> Outcome:
        status_code, text = await _get(http, url, settings.timeout_seconds)
        body: object = None
        with contextlib.suppress(ValueError):
            body = json.loads(text)
        reported, services = parse_three_tier(body)
        http_ok = 200 <= status_code < 300
        status: Status
        if reported is not None:
            status = reported if http_ok or reported != "healthy" else "unhealthy"
        else:
            status = "healthy" if http_ok else "unhealthy"
        detail = f"HTTP {status_code}" + (f", reports {reported}" if reported else "")
        data: dict[str, Any] = {"http_status": status_code}
        if services:
            data["services"] = services
        return Outcome(status, detail, data)

    return Probe("health", run, critical=settings.critical, timeout=settings.timeout_seconds)


def dependency_probe(http: aiohttp.ClientSession, check: DependencyCheck) -> Probe:
    """An HTTP GET with an expected status, or a TCP connect."""

    async def http_check() -> Outcome:
        status_code, _ = await _get(http, check.url or "", check.timeout_seconds)
        if status_code == check.expect_status:
            return Outcome("healthy", f"HTTP {status_code}")
        return Outcome("unhealthy", f"HTTP {status_code}, expected {check.expect_status}")

    async def tcp_check() -> Outcome:
        assert check.host is not None
        assert check.port is not None
        _reader, writer = await asyncio.open_connection(check.host, check.port)
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return Outcome("healthy", f"connected to {check.host}:{check.port}")

    run = http_check if check.type == "http" else tcp_check
    return Probe(check.name, run, critical=check.critical, timeout=check.timeout_seconds)


def service_probes(http: aiohttp.ClientSession, settings: HealthSettings | None) -> list[Probe]:
    """Every probe the catalog defines for one environment of a service."""
    if settings is None:
        return []
    probes = [health_url_probe(http, settings)] if settings.url else []
    probes.extend(dependency_probe(http, d) for d in settings.dependencies)
    return probes


async def service_health(http: aiohttp.ClientSession, settings: HealthSettings | None) -> Report | None:
    """Run the service's probes concurrently; None when the catalog defines none."""
    probes = service_probes(http, settings)
    if not probes:
        return None
    return await run_probes(probes)


def summary_text(report: Report) -> str:
    """'unhealthy: 2 of 4 checks failing (health, db)' and the like."""
    bad = [r.name for r in report.results if r.status != "healthy"]
    if not bad:
        return f"healthy: all {len(report.results)} checks pass"
    names = ", ".join(bad[:6]) + ("…" if len(bad) > 6 else "")
    return f"{report.status}: {len(bad)} of {len(report.results)} checks not healthy ({names})"


def render_health(service: str, env: str, report: Report) -> tuple[str, list[dict[str, Any]]]:
    """The health matrix: one line per check with latency, criticality and detail."""
    lines = []
    for result in report.results:
        flag = "critical" if result.critical else "non-critical"
        detail = f" · {safe(result.detail, 300)}" if result.detail else ""
        lines.append(
            f"{ICON[result.status]} {code(result.name)} *{result.status}* · "
            f"{result.latency_ms:,.0f} ms · {flag}{detail}"
        )
        for name, sub in (result.data.get("services") or {}).items():
            sub_status = str(sub.get("status", "?"))
            latency = f" · {sub['latency_ms']:,.1f} ms" if "latency_ms" in sub else ""
            icon = ICON.get(sub_status, ":white_circle:")
            lines.append(f"        ↳ {icon} {code(name)} {escape(sub_status)}{latency} (reported)")
    blocks = [header(f"Health of {service} · {env}: {report.status}")]
    packed, fitted = pack_lines(lines, 10000, 45)
    blocks.extend(packed)
    slowest = max(report.results, key=lambda r: r.latency_ms, default=None)
    notes = [f"total {report.total_ms / 1000:.2f} s (checks run concurrently)"]
    if slowest is not None:
        notes.append(f"slowest {code(slowest.name)} {slowest.latency_ms / 1000:.2f} s")
    if fitted < len(lines):
        notes.append(f"{len(lines) - fitted} more lines not shown")
    blocks.append(context(" · ".join(notes)))
    text = f"{ICON[report.status]} {escape(service)} ({escape(env)}) is {summary_text(report)}"
    return text, blocks
