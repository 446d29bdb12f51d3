"""`/deploy history`: a service's deploys, traffic changes and Flare's rollbacks, newest first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.deploys.models import Deploy
from bot.deploys.views import DeployView, RollbackEntry, view_of
from bot.rollback.models import Rollback
from bot.rollback.plan import Plan


@dataclass(frozen=True)
class History:
    """Entries newest first (deploy views and rollback entries mixed), and how many exist in all."""

    entries: list[DeployView | RollbackEntry]
    total: int


def entry_time(entry: DeployView | RollbackEntry) -> datetime:
    """The sort key: when the entry happened."""
    return entry.started_at if isinstance(entry, DeployView) else entry.at


async def history(session: AsyncSession, service: str, env: str | None, limit: int) -> History:
    """The newest `limit` deploys and rollbacks of `service` (in `env`, or every environment)."""
    deploys = select(Deploy).where(Deploy.service == service)
    rollbacks = select(Rollback).where(Rollback.service == service, Rollback.started_at.is_not(None))
    deploy_count = select(func.count()).select_from(Deploy).where(Deploy.service == service)
    rollback_count = (
        select(func.count())
        .select_from(Rollback)
        .where(Rollback.service == service, Rollback.started_at.is_not(None))
    )
    if env is not None:
        deploys = deploys.where(Deploy.env == env)
        rollbacks = rollbacks.where(Rollback.env == env)
        deploy_count = deploy_count.where(Deploy.env == env)
        rollback_count = rollback_count.where(Rollback.env == env)
    deploy_rows = await session.execute(
        deploys.order_by(Deploy.started_at.desc(), Deploy.id.desc()).limit(limit)
    )
    rollback_rows = await session.execute(
        rollbacks.order_by(Rollback.started_at.desc(), Rollback.id.desc()).limit(limit)
    )
    entries: list[DeployView | RollbackEntry] = [view_of(row) for row in deploy_rows.scalars()]
    for row in rollback_rows.scalars():
        assert row.started_at is not None
        plan = Plan.from_json(row.plan) if row.plan else None
        entries.append(
            RollbackEntry(
                id=row.id,
                kind=row.kind,
                env=row.env,
                status=row.status,
                by=row.confirmed_by or row.requested_by,
                before=plan.before if plan else {},
                after=plan.after if plan else {},
                at=row.started_at,
            )
        )
    entries.sort(key=entry_time, reverse=True)
    total = int((await session.execute(deploy_count)).scalar_one()) + int(
        (await session.execute(rollback_count)).scalar_one()
    )
    return History(entries[:limit], total)
