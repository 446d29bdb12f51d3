"""Gathering what `/deploy status` shows: Cloud Run reads plus Flare's own record of changes."""

from __future__ import annotations

import asyncio

from bot.cloudrun.gateway import CloudRunError
from bot.cloudrun.render import OverviewRow, ServiceStatus
from bot.cloudrun.targets import Target
from bot.container import Container
from bot.rollback.flows import fetch
from bot.rollback.queries import last_change


async def service_status(c: Container, target: Target) -> ServiceStatus:
    """One service in one environment: traffic, revisions and the last change (CloudRunError on failure)."""
    info, revisions = await fetch(c, target)
    async with c.db.sessions() as session:
        change = await last_change(session, target.service, target.env)
    return ServiceStatus(target.service, target.env, info, revisions, change)


async def overview(c: Container, targets: list[Target]) -> list[OverviewRow]:
    """Every target at once; a service that cannot be read gets its error instead."""

    async def one(target: Target) -> OverviewRow:
        try:
            info, revisions = await fetch(c, target)
        except CloudRunError as exc:
            return OverviewRow(target.service, error=str(exc))
        ready = {r.name: r.ready for r in revisions}
        return OverviewRow(target.service, info=info, ready=ready)

    return list(await asyncio.gather(*(one(t) for t in targets)))
