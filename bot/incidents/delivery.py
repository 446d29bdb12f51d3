"""Incident side of delivery: refused Slack calls land on the incident, a refused channel falls back.

When Slack refuses to create the incident channel, everything that would have gone into it is
cancelled (it would only fail), the announcements still go out without the link and say how to retry,
and `/incident channel retry` (or the announcement's button) opens it again under a new name if needed.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.container import Container
from bot.incidents import flows, render
from bot.incidents.lifecycle import IncidentError
from bot.incidents.models import Incident
from bot.incidents.timeline import record_event
from bot.incidents.types import snapshot
from bot.slack.failures import FailedDelivery, FailureHook, advice, incident_of, what
from bot.slack.models import OutboxItem
from bot.slack.outbox import CREATE_CHANNEL, post_message

# Names Slack refused as names (not because they were taken): a retry uses the plain `<prefix>-<id>`.
_BAD_NAME = ("invalid_name",)


def failure_hook(c: Container) -> FailureHook:
    """Record a refused call on its incident; a refused channel triggers the fallback."""

    async def hook(session: AsyncSession, failure: FailedDelivery) -> None:
        incident_id = incident_of(failure)
        incident = await session.get(Incident, incident_id) if incident_id is not None else None
        if incident is None:
            return
        await record_event(
            session,
            incident.id,
            kind="delivery_failed",
            text=f"Slack refused to {what(failure.method)}: {failure.error} ({advice(failure.error)})",
            occurred_at=c.clock.now(),
            data={"method": failure.method, "error": failure.error, "item": failure.item_id},
        )
        if failure.method == CREATE_CHANNEL:
            await channel_refused(c, session, incident, failure.error)

    return hook


async def channel_refused(c: Container, session: AsyncSession, incident: Incident, error: str) -> None:
    """Cancel what needed the channel; send the announcements without it, saying how to retry."""
    incident.channel_error = error[:200]
    incident.updated_at = c.clock.now()
    reason = f"cancelled: the incident channel could not be created ({error})"[:2000]
    key = incident.channel_key
    await session.execute(
        update(OutboxItem)
        .where(
            OutboxItem.status == "pending",
            or_(OutboxItem.lane == f"ref:{key}", OutboxItem.target.like(f"{key}:announce:%")),
        )
        .values(status="cancelled", last_error=reason)
    )
    s = snapshot(incident)
    for target, group in flows.announcement_targets(c.catalog, incident.service):
        text, blocks = render.announcement(s, "", group=group)
        payload = post_message(target, text=text, blocks=blocks).payload
        await session.execute(
            update(OutboxItem)
            .where(
                OutboxItem.produces == f"{key}:announce:{target}",
                OutboxItem.method == "chat.postMessage",
                or_(OutboxItem.status == "pending", OutboxItem.last_error.like("depends on%")),
            )
            .values(payload=payload, status="pending", last_error=None)
        )


async def channel_created(session: AsyncSession, key: str, result: dict[str, Any]) -> None:
    """Write the channel Slack actually created (maybe `…-2`) back onto the incident."""
    channel = result.get("channel")
    if not (key.startswith("incident:") and key[9:].isdigit() and isinstance(channel, dict)):
        return
    values: dict[str, Any] = {"channel_id": str(channel.get("id")), "channel_error": None}
    if channel.get("name"):
        values["channel_name"] = str(channel["name"])[:80]
    await session.execute(update(Incident).where(Incident.id == int(key[9:])).values(**values))


async def retry_channel(c: Container, session: AsyncSession, incident: Incident, actor: str) -> str:
    """Try to create the incident channel again; returns the name tried. IncidentError if pointless."""
    if incident.channel_id:
        raise IncidentError(f"{incident.human_id} already has its channel <#{incident.channel_id}>.")
    key = incident.channel_key
    last = (
        await session.execute(
            select(OutboxItem.status)
            .where(OutboxItem.produces == key)
            .order_by(OutboxItem.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    if incident.channel_error is None and last == "pending":
        raise IncidentError(f"The channel of {incident.human_id} is still being created; give it a moment.")
    if incident.channel_error is None and last == "sent":
        raise IncidentError(f"{incident.human_id} already has its channel #{incident.channel_name}.")
    attempts = (
        await session.execute(
            select(func.count())
            .select_from(OutboxItem)
            .where(OutboxItem.produces == key, OutboxItem.method == CREATE_CHANNEL)
        )
    ).scalar_one()
    previous = incident.channel_error or ""
    if previous.startswith(_BAD_NAME):
        incident.channel_name = f"{c.catalog.incidents.channel_prefix}-{incident.id}"[:80]
    incident.channel_error = None
    incident.updated_at = c.clock.now()
    await session.flush()
    await record_event(
        session,
        incident.id,
        kind="channel_retry",
        text=f"retrying the channel as #{incident.channel_name}"
        + (f" (was refused: {previous})" if previous else ""),
        actor=actor,
        occurred_at=c.clock.now(),
        data={"name": incident.channel_name, "previous_error": previous or None},
    )
    await flows.open_channel_again(c, session, incident, retry=int(attempts) + 1)
    return incident.channel_name
