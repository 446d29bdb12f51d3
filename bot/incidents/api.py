"""The incidents contract: what other features (alerts, Cloud Run, deploys) call. Import only from here.

    ref = await declare(c, session, DeclareRequest(title=..., severity="P1", declared_by="flare"))
    await record_event(session, ref.id, kind="alert_fired", text="...", data={"url": ...})
    post_message(channel_ref(ref.channel_key), ...)   # post in the incident's channel

All functions run inside the caller's session/transaction; nothing is committed here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.container import Container
from bot.incidents import flows, queries, timeline
from bot.incidents.lifecycle import EVENT_KINDS, OPEN_STATUSES, STATUSES
from bot.incidents.types import DeclareRequest, IncidentRef, to_ref

__all__ = [
    "EVENT_KINDS",
    "OPEN_STATUSES",
    "STATUSES",
    "DeclareRequest",
    "IncidentRef",
    "declare",
    "find_by_channel",
    "find_open_for_service",
    "get",
    "record_event",
]


async def declare(
    c: Container, session: AsyncSession, request: DeclareRequest, *, origin: str | None = None
) -> IncidentRef:
    """Store the incident; enqueue (same transaction) channel, invites, card + pin, topic, announcements.

    The same `request.dedup_key` twice gives the same incident. `origin` (e.g. "alert-group:17") is
    recorded on the incident and in its `declared` timeline event. Raises ValueError for an
    unknown severity or an empty title.
    """
    return to_ref(await flows.declare(c, session, request, origin=origin))


async def get(session: AsyncSession, incident_id: int) -> IncidentRef | None:
    """The incident INC-<incident_id>, if it exists."""
    incident = await queries.load(session, incident_id)
    return to_ref(incident) if incident else None


async def find_open_for_service(session: AsyncSession, service: str) -> IncidentRef | None:
    """The newest incident on `service` that is not resolved."""
    incident = await queries.open_for_service(session, service)
    return to_ref(incident) if incident else None


async def find_by_channel(session: AsyncSession, channel_id: str) -> IncidentRef | None:
    """The incident whose Slack channel is `channel_id` (a channel id like C0123ABCD)."""
    incident = await queries.by_channel(session, channel_id)
    return to_ref(incident) if incident else None


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
) -> bool:
    """Append a timeline event (stored in UTC); False when `dedup_key` was already recorded for it.

    `kind` is one of EVENT_KINDS (or another short string); put url/permalink/ids in `data` so the
    post-mortem can link them. `text` is stored as given and escaped when rendered.
    """
    return await timeline.record_event(
        session,
        incident_id,
        kind=kind,
        text=text,
        actor=actor,
        occurred_at=occurred_at,
        data=data,
        dedup_key=dedup_key,
    )
