"""Changes whose instance died mid-way: found by their expired lease, reported, never silently lost."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from sqlalchemy import func, select

from bot.cloudrun.gateway import CloudRunError
from bot.cloudrun.targets import UnknownTarget, resolve
from bot.cloudrun.text import plain_split
from bot.container import Container
from bot.db import locks
from bot.rollback.flows import count, expire_row, lock_name, refresh_message
from bot.rollback.lease import lease_seconds
from bot.rollback.models import ACTIVE_STATUSES, Rollback
from bot.rollback.moments import notify
from bot.rollback.plan import Plan
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
            row.open_slot = None
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
            reported.append(row)
    for row in reported:
        count(c, row, "interrupted")
        c.spawn(resolve_interrupted(c, row.id), name=f"resolve:{row.id}")
    if rows:
        log.warning("found interrupted changes", extra={"count": len(rows)})
    return len(rows)


async def resolve_interrupted(c: Container, rollback_id: int) -> None:
    """Read Cloud Run afresh and report whether the interrupted change had been applied."""
    async with c.db.sessions() as session:
        row = await session.get(Rollback, rollback_id)
    if row is None or row.status != "interrupted" or row.plan is None:
        return
    plan = Plan.from_json(row.plan)
    observed: dict[str, int] | None = None
    try:
        info = await c.cloudrun.get_service(resolve(c.catalog, row.service, row.env).ref)
        observed = info.serving()
    except (CloudRunError, UnknownTarget) as exc:
        detail = (
            f"Flare could not read the service afterwards ({exc}), so it cannot tell whether the "
            f"traffic moved: check `/deploy status {row.service}`."
        )
    else:
        if observed == plan.after:
            detail = (
                f"Cloud Run had applied it: it serves {plain_split(observed)} as planned. "
                "It was not verified; restore the previous traffic or roll back further if needed."
            )
        elif observed == plan.before:
            detail = f"Cloud Run had not applied it: traffic unchanged, still {plain_split(observed)}."
        else:
            detail = (
                f"Cloud Run now serves {plain_split(observed) or 'nothing'}, neither the plan nor before."
            )
    async with c.transaction() as session:
        fresh = await session.get(Rollback, rollback_id, with_for_update=True)
        if fresh is None or fresh.status != "interrupted":
            return
        fresh.detail, fresh.observed = detail, observed
        await refresh_message(c, session, fresh)
        await record(
            session,
            fresh,
            "interrupted",
            f"{fresh.kind.capitalize()} of {fresh.service} ({fresh.env}) interrupted by a restart during "
            f"'{fresh.step or '?'}': {detail}",
            actor="flare",
            data={"observed": observed},
        )
        await notify(c, session, fresh)


async def expire_proposals(c: Container) -> int:
    """Mark proposals past their time as expired and update their messages."""
    now = c.clock.now()
    async with c.transaction() as session:
        rows = (
            (
                await session.execute(
                    select(Rollback)
                    .where(Rollback.status == "proposed", Rollback.expires_at < now)
                    .order_by(Rollback.id)
                    .limit(50)
                    .with_for_update(skip_locked=True)
                )
            )
            .scalars()
            .all()
        )
        for row in rows:
            await expire_row(c, session, row)
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
    """The tick job: report changes orphaned since the last tick, and expire old proposals."""
    await sweep(c)
    await expire_proposals(c)
