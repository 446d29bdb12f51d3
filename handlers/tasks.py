"""The tick: POST /tasks/tick (Cloud Scheduler, bearer FLARE_TICK_TOKEN) and the in-process timer.

Both run every job in `handlers.tick_jobs.TICK_JOBS`. Jobs are safe when several instances tick at
once; one failing job does not stop the others.
"""

from __future__ import annotations

import asyncio
import logging
import time

from aiohttp import web

from bot.container import Container
from bot.http.auth import bearer_refusal
from bot.http.errors import is_storage_unavailable, json_error
from bot.observability.report import capture_exception
from handlers.keys import CONTAINER
from handlers.tick_jobs import TICK_JOBS

log = logging.getLogger("flare.tick")


async def run_tick(c: Container) -> tuple[list[str], list[str]]:
    """Run every tick job once: (names that ran, names that failed). Storage outages propagate."""
    ran: list[str] = []
    failed: list[str] = []
    for job in TICK_JOBS:
        name = getattr(job, "__qualname__", repr(job))
        try:
            await job(c)
        except Exception as exc:
            if is_storage_unavailable(exc):
                raise
            capture_exception(exc)
            log.exception("tick job failed", extra={"job": name})
            failed.append(name)
        else:
            ran.append(name)
    return ran, failed


async def tick(request: web.Request) -> web.Response:
    """POST /tasks/tick: run the tick jobs now (401 without the right bearer token)."""
    c = request.app[CONTAINER]
    refusal = bearer_refusal(
        request, c.settings.flare_tick_token, setting="FLARE_TICK_TOKEN", what="the tick endpoint"
    )
    if refusal is not None:
        return refusal
    started = time.perf_counter()
    ran, failed = await run_tick(c)
    took_ms = round((time.perf_counter() - started) * 1000, 1)
    if failed:
        return json_error(
            500, f"tick jobs failed: {', '.join(failed)}", ran=ran, failed=failed, took_ms=took_ms
        )
    return web.json_response({"status": "ok", "ran": ran, "took_ms": took_ms})


async def tick_timer(c: Container) -> None:
    """Tick every FLARE_TICK_INTERVAL_SECONDS (when > 0), for a server that runs alone."""
    interval = c.settings.flare_tick_interval_seconds
    if interval <= 0:
        return
    while True:
        await asyncio.sleep(interval)
        try:
            await run_tick(c)
        except Exception:
            # The timer outlives a database outage: log and try again at the next interval.
            log.exception("tick failed; retrying at the next interval")


def add_routes(app: web.Application) -> None:
    """Register POST /tasks/tick."""
    app.router.add_post("/tasks/tick", tick)
