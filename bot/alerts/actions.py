"""What people do to an alert group from Slack, and the tick jobs that keep groups linked and shown."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update

from bot.alerts.models import AlertGroup
from bot.alerts.publisher import GroupPublisher
from bot.container import Container
from bot.incidents import api
from bot.slack.escape import user_mention
from bot.slack.outbox import Outbound, enqueue, lane_for


@dataclass(frozen=True)
class GroupInfo:
    """What the Declare button pre-fills the modal with."""

    id: int
    title: str
    severity: str
    service: str | None
    firing: int
    total: int
    route: str


async def acknowledge(c: Container, group_id: int, user: str, channel: str | None) -> str:
    """Record who acknowledged the group: 'acknowledged', 'already' or 'missing'.

    The group message shows it at its next update; a linked incident's timeline records it.
    """
    async with c.transaction() as session:
        group = await session.get(AlertGroup, group_id, with_for_update=True)
        if group is None:
            return "missing"
        if group.acked_by is not None:
            if channel:
                note = f"Already acknowledged by {user_mention(group.acked_by)}."
                await enqueue(session, _ephemeral(channel, user, note))
            return "already"
        group.acked_by = user[:32]
        group.acked_at = c.clock.now()
        group.version += 1
        if group.incident_id is not None:
            await api.record_event(
                session,
                group.incident_id,
                kind="alert_acknowledged",
                text=f"Acknowledged alert group: {group.title}",
                actor=user,
                occurred_at=group.acked_at,
                data={"group_id": group.id, "firing": group.firing, "total": group.total},
                dedup_key=f"alert-group:{group.id}:ack",
            )
    return "acknowledged"


async def group_info(c: Container, group_id: int) -> GroupInfo | None:
    """The group's title, severity and service, if it exists."""
    async with c.db.sessions() as session:
        group = await session.get(AlertGroup, group_id)
        if group is None:
            return None
        return GroupInfo(
            group.id, group.title, group.severity, group.service, group.firing, group.total, group.route
        )


async def link_open_groups(c: Container) -> None:
    """Tick job: link open, unlinked groups to their service's open incident (declared since)."""
    async with c.transaction() as session:
        rows = await session.execute(
            select(AlertGroup.id, AlertGroup.service)
            .where(
                AlertGroup.resolved_at.is_(None),
                AlertGroup.incident_id.is_(None),
                AlertGroup.service.is_not(None),
            )
            .order_by(AlertGroup.id)
            .limit(500)
        )
        by_service: dict[str, list[int]] = {}
        for group_id, service in rows:
            if service:
                by_service.setdefault(service, []).append(group_id)
        for service, ids in by_service.items():
            incident = await api.find_open_for_service(session, service)
            if incident is None:
                continue
            await session.execute(
                update(AlertGroup)
                .where(AlertGroup.id.in_(ids), AlertGroup.incident_id.is_(None))
                .values(incident_id=incident.id, version=AlertGroup.version + 1)
            )


async def publish_groups(c: Container) -> None:
    """Tick job: render changed groups (the in-process publisher does this continuously too)."""
    publisher = GroupPublisher(c)
    while (await publisher.publish_due())[0] >= publisher.batch_size:
        pass


def _ephemeral(channel: str, user: str, text: str) -> Outbound:
    return Outbound(lane_for(channel), "chat.postEphemeral", {"channel": channel, "user": user, "text": text})
