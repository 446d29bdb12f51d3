"""Changes whose instance died mid-way: found by their expired lease, reported, never silently lost."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import select

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


async def watch(c: Container) -> None:
    """At start and then every half lease: report changes orphaned by a dead instance."""
    interval = max(lease_seconds(c) / 2.0, 0.2)
    while True:
        try:
            await sweep(c)
        except Exception:
            # Outlive a database outage: try again at the next interval.
            log.exception("rollback recovery sweep failed; retrying")
        await asyncio.sleep(interval)
