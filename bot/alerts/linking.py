"""Alerts and incidents: auto-declare on intake, and report a linked group into its incident.

Everything here goes through the incidents contract (`bot.incidents.api`).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import and_, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.alerts.models import AlertGroup, AlertGroupMember, AlertRecord
from bot.alerts.queries import alert_line, group_alerts
from bot.alerts.render import AlertLine, GroupView, render_group, thread_text
from bot.container import Container
from bot.incidents import api
from bot.slack.outbox import enqueue, lane_for, post_message, update_message
from bot.slack.refs import channel_ref

if TYPE_CHECKING:
    from bot.incidents.api import IncidentRef

THREAD_ALERTS = 20  # alerts named one by one per report; the rest are counted


async def auto_declare(c: Container, session: AsyncSession, group_ids: set[int]) -> list[int]:
    """Declare an incident for each group whose route auto-declares, unless its service has one open.

    The declaration's dedup key is the group's, so HA peers and retries reach the same incident;
    on PostgreSQL a per-service advisory lock stops two groups of one service declaring two.
    Returns the ids of the incidents linked.
    """
    linked: list[int] = []
    for group_id in sorted(group_ids):
        group = await session.get(AlertGroup, group_id)
        if group is None or group.incident_id is not None or group.resolved_at is not None:
            continue
        if not group.service or c.catalog.service(group.service) is None:
            continue
        if session.get_bind().dialect.name == "postgresql":
            await session.execute(
                text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
                {"key": f"flare:declare:{group.service}"},
            )
        ref = await api.find_open_for_service(session, group.service)
        if ref is None:
            ref = await api.declare(
                c,
                session,
                api.DeclareRequest(
                    title=group.title,
                    severity=group.severity,
                    declared_by="flare",
                    service=group.service,
                    description=(
                        f"Declared automatically: {group.firing} {group.severity} alert(s) on "
                        f"{group.service} (route {group.route})."
                    ),
                    source="alert",
                    dedup_key=f"alert-group:{group.id}",
                    impact_started_at=group.first_seen,
                ),
                origin=f"alert-group:{group.id}",
            )
        group.incident_id = ref.id
        group.version += 1
        linked.append(ref.id)
    return linked


async def refresh(c: Container, session: AsyncSession, group: AlertGroup) -> IncidentRef | None:
    """The open incident this group reports into: its own while open, else its service's open one."""
    if group.incident_id is not None:
        ref = await api.get(session, group.incident_id)
        if ref is not None and ref.status in api.OPEN_STATUSES:
            return ref
    found = await api.find_open_for_service(session, group.service) if group.service else None
    new_id = found.id if found is not None else None
    if new_id != group.incident_id:
        group.incident_id = new_id
        if new_id is not None:
            # A new incident has heard nothing about this group's alerts yet.
            await session.execute(
                update(AlertGroupMember).where(AlertGroupMember.group_id == group.id).values(reported=0)
            )
    return found


async def report(
    c: Container,
    session: AsyncSession,
    group: AlertGroup,
    incident: IncidentRef,
    view: GroupView,
    now: datetime,
) -> None:
    """Mirror the group message into the incident channel, thread what changed, and record the timeline."""
    max_shown = c.catalog.routes.max_alerts_shown
    channel = channel_ref(incident.channel_key)
    key = f"alert-group:{group.id}:inc:{incident.id}"
    alerts = await group_alerts(session, group.id, max_shown)
    text_, blocks = render_group(view, alerts, max_shown=max_shown, in_incident=True)
    posted = await enqueue(
        session, post_message(channel, text=text_, blocks=blocks, key=key, dedup_key=f"{key}:post")
    )
    if not posted:
        await enqueue(session, update_message(key, lane=lane_for(channel), text=text_, blocks=blocks))

    fired, resolved = await _unreported(session, group.id)
    if not fired and not resolved:
        return
    for kind, alerts in (("alert_fired", fired), ("alert_resolved", resolved)):
        for alert in alerts[:THREAD_ALERTS]:
            when = alert.starts_at if kind == "alert_fired" else (alert.ends_at or now)
            await api.record_event(
                session,
                incident.id,
                kind=kind,
                text=f"{'Fired' if kind == 'alert_fired' else 'Resolved'}: {alert.title}"
                + (f" — {alert.summary}" if alert.summary else ""),
                actor="flare",
                occurred_at=when,
                data={
                    "url": _best_link(alert),
                    "alert_id": alert.id,
                    "group_id": group.id,
                    "links": alert.links,
                },
                dedup_key=f"alert:{alert.id}:{kind}",
            )
        extra = len(alerts) - THREAD_ALERTS
        if extra > 0:
            await api.record_event(
                session,
                incident.id,
                kind=kind,
                text=f"{extra} more alert(s) {kind.removeprefix('alert_')} in {group.title}",
                actor="flare",
                occurred_at=now,
                data={"group_id": group.id, "count": extra},
                dedup_key=f"alert-group:{group.id}:{kind}:upto:{max(a.id for a in alerts)}",
            )
    more = max(len(fired) - THREAD_ALERTS, 0) + max(len(resolved) - THREAD_ALERTS, 0)
    reply = thread_text(view, fired[:THREAD_ALERTS], resolved[:THREAD_ALERTS], more)
    await enqueue(session, post_message(channel, text=reply, thread_key=key))
    await _mark(session, group.id, [a.id for a in fired if a.status == "firing"], 1)
    await _mark(session, group.id, [a.id for a in resolved], 2)


async def _unreported(session: AsyncSession, group_id: int) -> tuple[list[AlertLine], list[AlertLine]]:
    """Alerts the incident has not heard fire, and those it has not heard resolve."""
    rows = (
        await session.execute(
            select(
                AlertRecord.id,
                AlertRecord.title,
                AlertRecord.status,
                AlertRecord.starts_at,
                AlertRecord.summary,
                AlertRecord.ends_at,
                AlertRecord.links,
                AlertGroupMember.reported,
            )
            .join(AlertGroupMember, AlertGroupMember.alert_id == AlertRecord.id)
            .where(
                AlertGroupMember.group_id == group_id,
                or_(
                    AlertGroupMember.reported == 0,
                    and_(AlertRecord.status == "resolved", AlertGroupMember.reported < 2),
                ),
            )
            .order_by(AlertRecord.id)
        )
    ).all()
    fired = [alert_line(r) for r in rows if r.reported == 0]
    resolved = [alert_line(r) for r in rows if r.status == "resolved"]
    return fired, resolved


async def _mark(session: AsyncSession, group_id: int, alert_ids: list[int], value: int) -> None:
    for start in range(0, len(alert_ids), 500):
        chunk = alert_ids[start : start + 500]
        await session.execute(
            update(AlertGroupMember)
            .where(AlertGroupMember.group_id == group_id, AlertGroupMember.alert_id.in_(chunk))
            .values(reported=value)
        )


def _best_link(alert: AlertLine) -> str | None:
    for name in ("source", "generator", "dashboard", "runbook"):
        if alert.links.get(name):
            return alert.links[name]
    return None
