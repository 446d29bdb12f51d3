"""Recording: the rollback's own audit trail, the incident timeline, and short Slack notices."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.base import utcnow
from bot.incidents import api as incidents
from bot.observability.report import add_breadcrumb
from bot.rollback.models import Rollback, RollbackEvent
from bot.slack.outbox import Outbound, lane_for

TIMELINE_KIND = {"rollback": "rollback", "restore": "rollback", "traffic": "traffic_change"}


async def incident_for(
    session: AsyncSession, channel_id: str | None, service: str | None
) -> incidents.IncidentRef | None:
    """The incident whose channel this is, else the open incident on `service`."""
    if channel_id:
        found = await incidents.find_by_channel(session, channel_id)
        if found is not None:
            return found
    if service:
        return await incidents.find_open_for_service(session, service)
    return None


async def record(
    session: AsyncSession,
    rollback: Rollback,
    event: str,
    text: str,
    *,
    actor: str | None = None,
    data: dict[str, Any] | None = None,
    refused: bool = False,
    timeline: bool = True,
) -> None:
    """Append to the rollback's trail and, when it belongs to an incident, to its timeline."""
    payload = {"rollback_id": rollback.id, "service": rollback.service, "env": rollback.env, "event": event}
    payload.update(data or {})
    await session.execute(
        insert(RollbackEvent).values(
            rollback_id=rollback.id,
            kind=event,
            actor=actor,
            text=text[:4000],
            data=payload,
            created_at=utcnow(),
        )
    )
    if timeline and rollback.incident_id is not None:
        kind = "rollback_refused" if refused else TIMELINE_KIND.get(rollback.kind, "rollback")
        await incidents.record_event(
            session, rollback.incident_id, kind=kind, text=text, actor=actor, data=payload
        )
    add_breadcrumb("flare.rollback", text[:500], event=event, id=rollback.id)


def ephemeral(channel: str, user: str, text: str, blocks: list[dict[str, Any]] | None = None) -> Outbound:
    """chat.postEphemeral through the outbox: an answer only `user` sees."""
    payload: dict[str, Any] = {"channel": channel, "user": user, "text": text}
    if blocks is not None:
        payload["blocks"] = blocks
    return Outbound(lane_for(channel), "chat.postEphemeral", payload)
