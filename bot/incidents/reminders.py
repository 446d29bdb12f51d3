"""Status-update reminders, driven by the tick. Safe when several instances tick at once.

An incident is due when `next_reminder_at` has passed. A tick claims it with a compare-and-set
on `reminders_sent` (only one UPDATE can move it from N to N+1), and in that same transaction
enqueues the reminder and records it; a loser of the race sends nothing.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from bot.container import Container
from bot.incidents import render
from bot.incidents.flows import reminder_minutes
from bot.incidents.lifecycle import OPEN_STATUSES
from bot.incidents.models import Incident
from bot.incidents.queries import load, sync_channel_ids
from bot.incidents.timeline import record_event
from bot.incidents.types import snapshot
from bot.slack.outbox import enqueue, post_message
from bot.slack.refs import channel_ref

BATCH = 100


async def send_due_reminders(c: Container) -> None:
    """Tick job: remind each incident whose status update is overdue, once per interval."""
    now = c.clock.now()
    async with c.db.sessions() as session:
        due = (
            await session.execute(
                select(Incident.id, Incident.reminders_sent)
                .where(Incident.status.in_(OPEN_STATUSES), Incident.next_reminder_at <= now)
                .order_by(Incident.next_reminder_at)
                .limit(BATCH)
            )
        ).all()
    for incident_id, seen in due:
        await _remind(c, incident_id, seen)


async def _remind(c: Container, incident_id: int, seen: int) -> bool:
    now = c.clock.now()
    async with c.transaction() as session:
        incident = await load(session, incident_id)
        if incident is None or incident.next_reminder_at is None:
            return False
        minutes = reminder_minutes(c.catalog, incident.severity)
        next_at = now + timedelta(minutes=minutes) if minutes else None
        claimed = await session.execute(
            update(Incident)
            .where(
                Incident.id == incident_id,
                Incident.reminders_sent == seen,
                Incident.status.in_(OPEN_STATUSES),
                Incident.next_reminder_at <= now,
            )
            .values(reminders_sent=seen + 1, next_reminder_at=next_at)
        )
        if getattr(claimed, "rowcount", 0) != 1:
            return False  # another instance sent it, or an update arrived meanwhile
        if minutes is None:
            return False  # the severity no longer wants reminders
        quiet = int((now - incident.last_update_at).total_seconds() // 60)
        text, blocks = render.reminder_notice(snapshot(incident), minutes, quiet)
        await enqueue(
            session,
            post_message(
                channel_ref(incident.channel_key),
                text=text,
                blocks=blocks,
                dedup_key=f"{incident.channel_key}:reminder:{seen + 1}",
            ),
        )
        await record_event(
            session,
            incident_id,
            kind="reminder",
            text=f"No status update for {quiet} min; reminded {incident.commander or incident.declared_by}",
            actor="flare",
            occurred_at=now,
            data={"minutes_without_update": quiet, "interval_minutes": minutes, "reminder": seen + 1},
            dedup_key=f"reminder:{seen + 1}",
        )
    return True


async def sync_channels(c: Container) -> None:
    """Tick job: copy delivered channel ids onto incidents so lookups by channel stay indexed."""
    async with c.transaction() as session:
        await sync_channel_ids(session)
