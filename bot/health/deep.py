"""Flare's own deep health: database, Slack, Cloud Run, Sentry and the outbox."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from bot.cloudrun.gateway import CloudRunError, PermissionDenied, ServiceNotFound
from bot.cloudrun.models import ServiceRef
from bot.container import Container
from bot.health.checks import Outcome, Probe, Report, run_probes
from bot.observability.report import sentry_active
from bot.paging.health import paging_outcome
from bot.slack.gateway import SlackCallError
from bot.slack.stats import failed_stats, pending_stats

OUTBOX_STUCK_SECONDS = 120.0


def deep_probes(c: Container) -> list[Probe]:
    """The probes behind GET /health/deep; only the database is critical."""

    async def database() -> Outcome:
        await c.db.ping()
        return Outcome("healthy", c.db.dialect)

    async def slack() -> Outcome:
        missing = c.settings.missing_slack_credentials()
        if missing:
            return Outcome("unhealthy", f"not configured: set {' and '.join(missing)}")
        trouble = c.dispatcher.auth_trouble
        held = (
            f"; Slack has refused the bot token ({trouble.error}) since {trouble.since:%H:%M:%S} UTC, and "
            f"messages are held and retried until {trouble.until:%H:%M:%S} UTC (a token rotation?)"
            if trouble is not None
            else ""
        )
        try:
            body = await c.slack.call("auth.test", {})
        except SlackCallError as exc:
            return Outcome("unhealthy", f"auth.test failed: {exc.error}{held}")
        if trouble is not None:
            return Outcome("degraded", f"auth.test answers again{held}")
        return Outcome("healthy", f"team {body.get('team_id', '?')}, bot {body.get('user_id', '?')}")

    async def cloud_run() -> Outcome:
        target = next(((s.name, env) for s in c.catalog.services for env in s.environments.values()), None)
        if target is None:
            return Outcome("healthy", "no services in the catalog; nothing to reach")
        name, env = target
        ref = ServiceRef(env.project, env.region, env.service)
        try:
            await c.cloudrun.get_service(ref)
        except (ServiceNotFound, PermissionDenied) as exc:
            return Outcome("degraded", f"reachable, but {exc}")
        except CloudRunError as exc:
            return Outcome("unhealthy", str(exc))
        return Outcome("healthy", f"read {name} ({ref.project}/{ref.region})")

    async def sentry() -> Outcome:
        if sentry_active():
            return Outcome("healthy", f"reporting to environment {c.settings.sentry_environment}")
        return Outcome("degraded", "SENTRY_DSN is not set; errors are only logged")

    async def outbox() -> Outcome:
        now = c.clock.now()
        count, oldest = await pending_stats(c.db, now)
        failed, last = await failed_stats(c.db, now - timedelta(hours=24))
        data: dict[str, Any] = {
            "pending": count,
            "oldest_pending_age_s": round(oldest, 1),
            "failed_24h": failed,
        }
        if last:
            data["last_failure"] = last
        if oldest > OUTBOX_STUCK_SECONDS:
            return Outcome("degraded", f"oldest pending message is {oldest:.0f}s old", data)
        if failed:
            return Outcome("degraded", f"Slack refused {failed} call(s) in 24h; last: {last}", data)
        return Outcome("healthy", "", data)

    return [
        Probe("database", database, critical=True, timeout=3.0),
        Probe("slack", slack, timeout=3.0),
        Probe("cloud_run", cloud_run, timeout=4.0),
        Probe("sentry", sentry, timeout=1.0),
        Probe("outbox", outbox, timeout=3.0),
        Probe("paging", lambda: paging_outcome(c), timeout=3.0),
    ]


async def deep_health(c: Container) -> Report:
    """Run every deep probe concurrently."""
    return await run_probes(deep_probes(c))


async def ready(c: Container, timeout: float | None = None) -> str | None:
    """None when the database answers within `timeout`; otherwise why not (never waits longer)."""
    seconds = c.settings.flare_ready_timeout_seconds if timeout is None else timeout
    ping = asyncio.ensure_future(c.db.ping())
    # Not wait_for: cancelling a ping stuck on a hung connection can itself hang until the command timeout.
    done, _ = await asyncio.wait({ping}, timeout=seconds)
    if not done:
        ping.cancel()
        ping.add_done_callback(_quiet)
        return f"database: no answer within {seconds:g} s"
    exc = ping.exception()
    if exc is not None:
        return f"database: {type(exc).__name__}"
    return None


def _quiet(task: asyncio.Task[None]) -> None:
    if not task.cancelled():
        task.exception()
