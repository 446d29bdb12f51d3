"""Recording and reading timeline events."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.base import utcnow
from bot.db.upsert import insert_ignore
from bot.incidents.models import IncidentEvent

TEXT_LIMIT = 10_000


async def record_event(
    session: AsyncSession,
    incident_id: int,
    *,
    kind: str,
    text: str,
    actor: str | None = None,
    occurred_at: datetime | None = None,
    data: dict[str, Any] | None = None,
    dedup_key: str | None = None,
    pending_fetch: bool = False,
) -> bool:
    """Append a timeline event (times in UTC); False when `dedup_key` was already recorded for it."""
    if not kind or len(kind) > 32:
        raise ValueError("kind must be 1-32 characters")
    now = utcnow()
    when = (occurred_at or now).astimezone(UTC)
    values = {
        "incident_id": incident_id,
        "kind": kind,
        "text": text[:TEXT_LIMIT],
        "actor": actor[:64] if actor else None,
        "occurred_at": when,
        "recorded_at": now,
        "data": data or {},
        "dedup_key": dedup_key[:200] if dedup_key else None,
        "pending_fetch": pending_fetch,
    }
    if dedup_key is None:
        await session.execute(insert(IncidentEvent), values)
        return True
    return await insert_ignore(session, IncidentEvent, values)


async def events(session: AsyncSession, incident_id: int) -> Sequence[IncidentEvent]:
    """Every event of an incident, oldest first."""
    rows = await session.execute(
        select(IncidentEvent)
        .where(IncidentEvent.incident_id == incident_id)
        .order_by(IncidentEvent.occurred_at, IncidentEvent.id)
    )
    return rows.scalars().all()


async def recent_events(session: AsyncSession, incident_id: int, limit: int) -> Sequence[IncidentEvent]:
    """The newest `limit` events of an incident, oldest first."""
    rows = await session.execute(
        select(IncidentEvent)
        .where(IncidentEvent.incident_id == incident_id)
        .order_by(IncidentEvent.occurred_at.desc(), IncidentEvent.id.desc())
        .limit(limit)
    )
    return list(reversed(rows.scalars().all()))


async def count_events(session: AsyncSession, incident_id: int) -> int:
    """How many events an incident has."""
    result = await session.execute(
        select(func.count()).select_from(IncidentEvent).where(IncidentEvent.incident_id == incident_id)
    )
    return int(result.scalar_one())


async def texts_of_kind(session: AsyncSession, incident_id: int, kind: str, *, limit: int) -> list[str]:
    """The text of an incident's newest `limit` events of one kind, oldest first."""
    rows = await session.execute(
        select(IncidentEvent.text)
        .where(IncidentEvent.incident_id == incident_id, IncidentEvent.kind == kind)
        .order_by(IncidentEvent.id.desc())
        .limit(limit)
    )
    return list(reversed(rows.scalars().all()))
