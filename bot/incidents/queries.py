"""Reading incidents: by id, by channel, by service, the open ones."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.incidents.lifecycle import OPEN_STATUSES
from bot.incidents.models import ActionItem, Incident
from bot.slack.models import SlackRef

# How many channel-less incidents a lookup by channel id considers (see find_by_channel).
_UNRESOLVED_CHANNELS_SCAN = 500


async def load(session: AsyncSession, incident_id: int, *, for_update: bool = False) -> Incident | None:
    """The incident row; with `for_update`, locked until the transaction ends (PostgreSQL)."""
    stmt = select(Incident).where(Incident.id == incident_id)
    if for_update:
        # NO KEY UPDATE: serialises changes to the incident without blocking timeline inserts (FKs).
        stmt = stmt.with_for_update(key_share=True)
    return (await session.execute(stmt.execution_options(populate_existing=True))).scalar_one_or_none()


async def by_channel(session: AsyncSession, channel_id: str, *, for_update: bool = False) -> Incident | None:
    """The incident whose Slack channel is `channel_id`."""
    stmt = select(Incident).where(Incident.channel_id == channel_id).order_by(Incident.id.desc()).limit(1)
    found = (await session.execute(stmt)).scalar_one_or_none()
    if found is None:
        # The channel id is copied onto the incident by a tick job; until then it is only in slack_refs.
        pending = (
            await session.execute(
                select(Incident.id)
                .where(Incident.channel_id.is_(None))
                .order_by(Incident.id.desc())
                .limit(_UNRESOLVED_CHANNELS_SCAN)
            )
        ).scalars()
        keys = {f"incident:{i}": i for i in pending}
        if not keys:
            return None
        ref = (
            await session.execute(
                select(SlackRef.key).where(SlackRef.key.in_(keys), SlackRef.channel_id == channel_id).limit(1)
            )
        ).scalar_one_or_none()
        if ref is None:
            return None
        return await load(session, keys[ref], for_update=for_update)
    if for_update:
        return await load(session, found.id, for_update=True)
    return found


async def open_for_service(session: AsyncSession, service: str) -> Incident | None:
    """The newest incident on `service` that is not resolved."""
    stmt = (
        select(Incident)
        .where(Incident.service == service, Incident.status.in_(OPEN_STATUSES))
        .order_by(Incident.id.desc())
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def open_incidents(session: AsyncSession, limit: int = 200) -> Sequence[Incident]:
    """Incidents that are not resolved, most severe first, then newest."""
    stmt = (
        select(Incident)
        .where(Incident.status.in_(OPEN_STATUSES))
        .order_by(Incident.severity, Incident.id.desc())
        .limit(limit)
    )
    return (await session.execute(stmt)).scalars().all()


async def listing(
    session: AsyncSession,
    *,
    status: str | None,
    limit: int,
    before: int | None,
    severity: str | None = None,
    service: str | None = None,
    title: str | None = None,
    declared_from: datetime | None = None,
    declared_until: datetime | None = None,
) -> Sequence[Incident]:
    """Incidents newest first; `status` is 'open', 'resolved', a status name, or None for all.

    The optional filters narrow by severity, service, a title substring (case-insensitive) and the
    declaration time (`declared_from` <= declared_at < `declared_until`).
    """
    stmt = select(Incident).order_by(Incident.id.desc()).limit(limit)
    if status == "open":
        stmt = stmt.where(Incident.status.in_(OPEN_STATUSES))
    elif status is not None:
        stmt = stmt.where(Incident.status == status)
    if before is not None:
        stmt = stmt.where(Incident.id < before)
    if severity is not None:
        stmt = stmt.where(Incident.severity == severity)
    if service is not None:
        stmt = stmt.where(Incident.service == service)
    if title:
        stmt = stmt.where(Incident.title.icontains(title, autoescape=True))
    if declared_from is not None:
        stmt = stmt.where(Incident.declared_at >= declared_from)
    if declared_until is not None:
        stmt = stmt.where(Incident.declared_at < declared_until)
    return (await session.execute(stmt)).scalars().all()


async def channel_ids(session: AsyncSession, incidents: Sequence[Incident]) -> dict[int, str]:
    """The Slack channel id of each incident whose channel exists."""
    known = {i.id: i.channel_id for i in incidents if i.channel_id}
    missing = {i.channel_key: i.id for i in incidents if not i.channel_id}
    if missing:
        rows = await session.execute(
            select(SlackRef.key, SlackRef.channel_id).where(SlackRef.key.in_(missing))
        )
        for key, channel in rows.all():
            known[missing[key]] = channel
    return {k: v for k, v in known.items() if v}


async def sync_channel_ids(session: AsyncSession, limit: int = 500) -> int:
    """Copy delivered channel ids from slack_refs onto incidents; returns how many were filled."""
    pending = (
        await session.execute(
            select(Incident.id).where(Incident.channel_id.is_(None)).order_by(Incident.id).limit(limit)
        )
    ).scalars()
    keys = {f"incident:{i}": i for i in pending}
    if not keys:
        return 0
    refs = (
        await session.execute(select(SlackRef.key, SlackRef.channel_id).where(SlackRef.key.in_(keys)))
    ).all()
    for key, channel in refs:
        await session.execute(
            update(Incident)
            .where(Incident.id == keys[key], Incident.channel_id.is_(None))
            .values(channel_id=channel)
        )
    return len(refs)


async def action_items(session: AsyncSession, incident_id: int) -> Sequence[ActionItem]:
    """An incident's action items, oldest first."""
    stmt = select(ActionItem).where(ActionItem.incident_id == incident_id).order_by(ActionItem.id)
    return (await session.execute(stmt)).scalars().all()


async def open_counts(session: AsyncSession) -> dict[str, int]:
    """How many incidents are open, per severity."""
    rows = await session.execute(
        select(Incident.severity, func.count())
        .where(Incident.status.in_(OPEN_STATUSES))
        .group_by(Incident.severity)
    )
    return {severity: int(count) for severity, count in rows.all()}
