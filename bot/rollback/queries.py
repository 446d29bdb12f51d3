"""Reads of past rollbacks: the last change to a service, and recent ones for the loop guard."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cloudrun.render import LastChange
from bot.rollback.models import Rollback
from bot.rollback.plan import Plan, RecentChange

# Outcomes after which traffic (probably) moved.
MOVED = ("succeeded", "unverified", "interrupted")


async def recent_changes(
    session: AsyncSession, service: str, env: str, since: datetime
) -> list[RecentChange]:
    """Changes to `service` in `env` that moved traffic since `since`."""
    rows = (
        await session.execute(
            select(Rollback).where(
                Rollback.service == service,
                Rollback.env == env,
                Rollback.status.in_(MOVED),
                Rollback.started_at.is_not(None),
                Rollback.started_at >= since,
            )
        )
    ).scalars()
    out = []
    for row in rows:
        if row.plan and row.started_at is not None:
            out.append(RecentChange(row.id, served_before(row), row.started_at))
    return out


def served_before(row: Rollback) -> dict[str, int]:
    """What actually served just before the change (recorded at execution), else what the plan assumed."""
    recorded = (row.before_traffic or {}).get("serving")
    if recorded is not None:
        return {str(k): int(v) for k, v in recorded.items()}
    return Plan.from_json(row.plan).before if row.plan else {}


async def last_change(session: AsyncSession, service: str, env: str) -> LastChange | None:
    """The newest change Flare started on `service` in `env`, whatever its outcome."""
    row = (
        await session.execute(
            select(Rollback)
            .where(
                Rollback.service == service,
                Rollback.env == env,
                Rollback.started_at.is_not(None),
            )
            .order_by(Rollback.started_at.desc(), Rollback.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    if row is None or row.plan is None or row.started_at is None:
        return None
    plan = Plan.from_json(row.plan)
    return LastChange(
        row.id,
        row.kind,
        row.status,
        served_before(row),
        plan.after,
        row.confirmed_by or row.requested_by,
        row.started_at,
    )
