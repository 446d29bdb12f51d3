"""GET /health/live, /health/ready, /health/deep and /metrics."""

from __future__ import annotations

from aiohttp import web

from bot.health.deep import deep_health, ready
from bot.http.auth import bearer_refusal
from handlers.gauges import refresh_gauges
from handlers.keys import CONTAINER


async def live(_request: web.Request) -> web.Response:
    """The process is up (no I/O)."""
    return web.json_response({"status": "ok"})


async def readiness(request: web.Request) -> web.Response:
    """The database answers; 503 otherwise."""
    problem = await ready(request.app[CONTAINER])
    if problem:
        return web.json_response({"status": "unavailable", "reason": problem}, status=503)
    return web.json_response({"status": "ready"})


async def deep(request: web.Request) -> web.Response:
    """Every dependency, checked concurrently; 503 only when a critical one fails."""
    report = await deep_health(request.app[CONTAINER])
    body = {
        "status": report.status,
        "check": "deep",
        "services": {r.name: r.as_dict() for r in report.results},
        "summary": report.summary(),
        "total_ms": round(report.total_ms, 1),
    }
    return web.json_response(body, status=503 if report.status == "unhealthy" else 200)


async def metrics(request: web.Request) -> web.Response:
    """Prometheus metrics, behind the METRICS_TOKEN bearer token."""
    container = request.app[CONTAINER]
    refusal = bearer_refusal(
        request, container.settings.metrics_token, setting="METRICS_TOKEN", what="/metrics"
    )
    if refusal is not None:
        return refusal
    await refresh_gauges(container)
    return web.Response(
        body=container.metrics.render(),
        content_type="text/plain",
        charset="utf-8",
        headers={"X-Content-Type-Options": "nosniff"},
    )


def add_routes(app: web.Application) -> None:
    """Register the health and metrics routes."""
    app.router.add_get("/health/live", live)
    app.router.add_get("/health/ready", readiness)
    app.router.add_get("/health/deep", deep)
    app.router.add_get("/metrics", metrics)
