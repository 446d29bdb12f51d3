"""Confirming a proposal: the permission check, the service lock, then the change runs in the background.

It sits above flows.py (which plans and proposes) and execute.py (which acts), so neither imports the other.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.catalog.rbac import AccessDecision
from bot.container import Container
from bot.db import locks
from bot.rollback.execute import execute
from bot.rollback.flows import count, expire_row, lock_name, not_open_note, refresh_message, word
from bot.rollback.lease import lease_seconds
from bot.rollback.models import Rollback
from bot.rollback.record import ephemeral, record
from bot.slack.escape import escape, user_mention
from bot.slack.outbox import enqueue


async def confirm(c: Container, rollback_id: int, user: str, decision: AccessDecision) -> bool:
    """An allowed user confirmed: take the service lock and start. False (with a reply) otherwise."""
    now = c.clock.now()
    started = False
    async with c.transaction() as session:
        row = await session.get(Rollback, rollback_id, with_for_update=True)
        if row is None:
            return False
        if row.status == "proposed" and row.expires_at is not None and row.expires_at <= now:
            await expire_row(c, session, row)
        if row.status != "proposed":
            text, blocks = not_open_note(row)
            await enqueue(session, ephemeral(row.channel_id, user, text, blocks))
            return False
        if decision.verdict != "allowed":
            await _refuse(c, session, row, user, f"you may not change {row.env}: {decision.reason}")
        else:
            holder = await locks.acquire(
                session,
                lock_name(row.service, row.env),
                f"rollback:{row.id}",
                now=now,
                ttl=lease_seconds(c),
                info={"by": user, "change": row.id, "kind": row.kind},
            )
            if holder is not None:
                by = str(holder.info.get("by", "someone"))
                reason = (
                    f"{row.service} ({row.env}) is locked: {user_mention(by)} is running change "
                    f"#{holder.info.get('change', '?')} ({holder.info.get('kind', 'change')}) since "
                    f"{holder.acquired_at:%H:%M:%S} UTC. Confirm again when it has finished."
                )
                await _refuse(c, session, row, user, reason, mention_ok=True)
            else:
                row.status, row.step, row.confirmed_by = "running", "checking", user
                row.open_slot = None
                row.started_at, row.lease_until = now, now + timedelta(seconds=lease_seconds(c))
                await refresh_message(c, session, row)
                await record(
                    session,
                    row,
                    "confirmed",
                    f"{word(row.kind).capitalize()} of {row.service} ({row.env}) confirmed by {user}; "
                    "changing traffic",
                    actor=user,
                )
                started = True
    if started:
        c.spawn(execute(c, rollback_id), name=f"rollback:{rollback_id}")
    return started


async def _refuse(
    c: Container, session: AsyncSession, row: Rollback, user: str, reason: str, *, mention_ok: bool = False
) -> None:
    shown = reason if mention_ok else escape(reason)
    await enqueue(session, ephemeral(row.channel_id, user, f":no_entry: Not confirmed: {shown}"))
    plain = reason.replace("<@", "").replace(">", "")
    await record(
        session, row, "confirm_refused", f"Confirmation by {user} refused: {plain}", actor=user, refused=True
    )
    count(c, row, "refused")
