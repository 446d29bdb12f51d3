"""Changes whose instance died mid-way: found by their expired lease, reported, never silently lost."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from sqlalchemy import func, select

from bot.container import Container
from bot.db import locks
from bot.rollback.execute import notify
from bot.rollback.flows import count, lock_name, refresh_message
from bot.rollback.lease import lease_seconds
from bot.rollback.models import ACTIVE_STATUSES, Rollback
from bot.rollback.record import ephemeral, record
from bot.slack.escape import escape
from bot.slack.outbox import enqueue

log = logging.getLogger("flare.rollback")


async def sweep(c: Container) -> int:
    """Mark planning/running changes with an expired lease as interrupted and report them."""
    now = c.clock.now()
    reported: list[Rollback] = []
    async with c.transaction() as session:
        rows = (
            (
                await session.execute(
                    select(Rollback)
                    .where(Rollback.status.in_(ACTIVE_STATUSES), Rollback.lease_until < now)
                    .order_by(Rollback.id)
                    .limit(50)
                    .with_for_update(skip_locked=True)
                )
            )
            .scalars()
            .all()
        )
        for row in rows:
            was = row.status
            row.status, row.lease_until, row.finished_at = "interrupted", None, now
            await locks.release(session, lock_name(row.service, row.env), f"rollback:{row.id}")
            if was == "planning":
                row.detail = "Flare restarted while planning; nothing was changed"
                await enqueue(
                    session,
                    ephemeral(
                        row.channel_id,
                        row.requested_by,
                        f":warning: Your request for change #{row.id} on {escape(row.service)} "
                        f"({escape(row.env)}) was interrupted by a restart before anything changed. "
                        "Please run the command again.",
                    ),
                )
                await record(session, row, "interrupted", row.detail, actor="flare", timeline=False)
                continue
            row.detail = f"Flare restarted during step '{row.step or '?'}'"
            await refresh_message(c, session, row)
            await record(
                session,
                row,
                "interrupted",
                f"{row.kind.capitalize()} of {row.service} ({row.env}) interrupted by a restart during "
                f"'{row.step or '?'}'; traffic may or may not have changed",
                actor="flare",
            )
            await notify(c, session, row)
            reported.append(row)
    for row in reported:
        count(c, row, "interrupted")
    if rows:
        log.warning("reported interrupted changes", extra={"count": len(rows)})
    return len(rows)


async def next_expiry(c: Container) -> datetime | None:
    """When the last lease of a change that is still planning or running expires (None if none is)."""
    async with c.db.sessions() as session:
        found = (
            await session.execute(
                select(func.max(Rollback.lease_until)).where(Rollback.status.in_(ACTIVE_STATUSES))
            )
        ).scalar_one_or_none()
    return found if isinstance(found, datetime) else None


async def on_start(c: Container) -> None:
    """At start: report changes a dead instance left behind, waiting out leases that were still valid.

    Later deaths (while this instance keeps running) are caught by the tick job `tick`.
    """
    await sweep(c)
    until = await next_expiry(c)
    if until is None:
        return
    wait = (until - c.clock.now()).total_seconds() + 0.2
    await asyncio.sleep(min(max(wait, 0.0), 2 * lease_seconds(c)))
    await sweep(c)


async def tick(c: Container) -> None:
    """The tick job: report changes orphaned since the last tick."""
    await sweep(c)
