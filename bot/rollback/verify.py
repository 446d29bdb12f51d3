"""Verifying a change: Cloud Run routes the planned traffic and deep health is not unhealthy."""

from __future__ import annotations

import asyncio

from bot.cloudrun.gateway import CloudRunError
from bot.cloudrun.targets import Target
from bot.cloudrun.text import plain_split
from bot.container import Container
from bot.health.service import service_health, summary_text
from bot.rollback.plan import Plan


async def verify(c: Container, target: Target, plan: Plan) -> tuple[str, str, dict[str, int] | None]:
    """('succeeded' | 'unverified', why, what serves): traffic as planned and health not unhealthy."""
    report_task = asyncio.ensure_future(service_health(c.http, target.environment.health))
    try:
        info = await c.cloudrun.get_service(target.ref)
    except CloudRunError as exc:
        report_task.cancel()
        return "unverified", f"could not read the traffic back from Cloud Run: {exc}", None
    report = await report_task
    serving = info.serving()
    if serving != plan.after:
        return (
            "unverified",
            f"Cloud Run routes {plain_split(serving)}, expected {plain_split(plan.after)}",
            serving,
        )
    traffic = f"{plain_split(serving)} as planned"
    if report is None:
        return (
            "succeeded",
            f"Traffic: {traffic}. No health checks are configured for {target.label}.",
            serving,
        )
    health = f"deep health {summary_text(report)} ({report.total_ms / 1000:.2f} s)"
    if report.status == "unhealthy":
        return "unverified", f"traffic is {traffic}, but {health}", serving
    return "succeeded", f"Traffic: {traffic}; {health}.", serving
