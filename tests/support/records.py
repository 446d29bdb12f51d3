"""What a running Flare stored, read fresh from its database: incidents and their timelines."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from bot.incidents.models import Incident, IncidentEvent

if TYPE_CHECKING:
    from tests.conftest import Flare


async def incidents(flare: Flare) -> list[Incident]:
    """Every stored incident, by id."""
    async with flare.container.db.sessions() as session:
        return list((await session.execute(select(Incident).order_by(Incident.id))).scalars().all())


async def timeline(flare: Flare, incident_id: int = 1, kind: str | None = None) -> list[IncidentEvent]:
    """An incident's timeline (optionally one kind), oldest first."""
    stmt = select(IncidentEvent).where(IncidentEvent.incident_id == incident_id)
    if kind is not None:
        stmt = stmt.where(IncidentEvent.kind == kind)
    async with flare.container.db.sessions() as session:
        rows = await session.execute(stmt.order_by(IncidentEvent.occurred_at, IncidentEvent.id))
        return list(rows.scalars().all())
