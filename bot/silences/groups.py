"""Silence an alert group from its Slack message (1 h, 4 h, until resolved), and Unsilence.

Who may: the catalog's `rbac` for the group's environment (production when the alerts carry none),
as for rollbacks. A refusal is private and recorded. Clicking twice creates one silence.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import insert, select

from bot.alerts.models import AlertGroup, AlertGroupMember, AlertRecord
from bot.container import Container
from bot.incidents import api as incidents
from bot.rollback.access import check_access
from bot.rollback.flows import refresh_message
from bot.rollback.models import Rollback
from bot.silences import store
from bot.silences.gateway import SilenceError, SilenceSpec
from bot.silences.matchers import common_labels, describe, filter_text, label_matchers
from bot.silences.models import Silence
from bot.silences.view import DURATIONS, hhmm
from bot.slack.escape import escape, safe, user_mention
from bot.slack.outbox import Outbound, enqueue, lane_for

LENGTHS = {"1h": timedelta(hours=1), "4h": timedelta(hours=4)}
DEFAULT_ENV = "production"


def _ephemeral(channel: str, user: str, text: str) -> Outbound:
    return Outbound(lane_for(channel), "chat.postEphemeral", {"channel": channel, "user": user, "text": text})


async def tell(c: Container, channel: str | None, user: str, text: str) -> None:
    """A private note to `user` in `channel`."""
    if channel:
        async with c.transaction() as session:
            await enqueue(session, _ephemeral(channel, user, text))


async def silence_group(c: Container, group_id: int, choice: str, user: str, channel: str | None) -> str:
    """Silence the group's alerts in Alertmanager; the outcome word (created, exists, refused, ...)."""
    settings = c.catalog.alertmanager
    if settings is None or choice not in DURATIONS:
        return "unavailable"
    async with c.db.sessions() as session:
        group = await session.get(AlertGroup, group_id)
        if group is None:
            return "missing"
        labels = await _labels(session, group)
    if group.source != "alertmanager":
        await tell(
            c, channel, user, f"Alerts from {escape(group.source)} cannot be silenced in Alertmanager."
        )
        return "unavailable"
    env = group.env or DEFAULT_ENV
    access = await check_access(c, env, user)
    if access.verdict != "allowed":
        reason = f"you may not silence {env} alerts: {access.reason}"
        await _refused(c, group, user, reason)
        await tell(c, channel, user, f":no_entry: Not silenced: {escape(reason)}")
        return "refused"
    matchers = label_matchers(labels)
    if not matchers:
        await tell(c, channel, user, ":warning: This group's alerts share no labels to silence them by.")
        return "no-labels"
    now = c.clock.now()
    until_resolved = choice == "resolved"
    ends = now + (timedelta(hours=settings.until_resolved_max_hours) if until_resolved else LENGTHS[choice])
    spec = SilenceSpec(
        matchers=matchers,
        starts_at=now,
        ends_at=ends,
        created_by="Flare",
        comment=f"Silenced from Slack by {user} ({DURATIONS[choice]}): alert group #{group.id} {group.title}",
    )
    values = {
        "kind": "group",
        "service": group.service,
        "env": group.env,
        "group_id": group.id,
        "incident_id": group.incident_id,
        "created_by": user[:40],
        "until_resolved": until_resolved,
    }
    outcome = await store.create(c, f"group:{group.id}", values, spec)
    if outcome.result == "exists" and outcome.silence is not None:
        by = user_mention(outcome.silence.created_by)
        await tell(c, channel, user, f"Already silenced by {by} until {hhmm(outcome.silence.ends_at)}.")
        return "exists"
    if outcome.result == "failed":
        await tell(
            c,
            channel,
            user,
            f":x: Could not silence the alerts: {safe(outcome.reason, 500)}. Nothing was silenced; "
            "try again, or silence them in Alertmanager's own UI.",
        )
        return "failed"
    until = DURATIONS[choice] if until_resolved else f"until {ends:%H:%M} UTC"
    await _changed(
        c, group.id, user, f"Alerts of group {group.title} silenced by {user} {until} ({describe(matchers)})"
    )
    return "created"


async def unsilence(c: Container, silence_id: int, user: str, channel: str | None) -> str:
    """Expire a silence Flare made (a change's or a group's), with the same permission check."""
    async with c.db.sessions() as session:
        row = await session.get(Silence, silence_id)
    if row is None:
        return "missing"
    env = row.env or DEFAULT_ENV
    access = await check_access(c, env, user)
    if access.verdict != "allowed":
        reason = f"you may not unsilence {env} alerts: {access.reason}"
        await _record_refusal(c, row, user, reason)
        await tell(c, channel, user, f":no_entry: Not unsilenced: {escape(reason)}")
        return "refused"
    outcome = await store.expire(c, silence_id, user)
    if outcome.result == "already":
        await tell(c, channel, user, "That silence has already ended; nothing to do.")
        return "already"
    if outcome.result == "failed":
        await tell(
            c,
            channel,
            user,
            f":x: Could not unsilence: {safe(outcome.reason, 500)}. The silence is still active; try "
            "again, or expire it in Alertmanager's own UI.",
        )
        return "failed"
    if row.group_id is not None:
        await _changed(c, row.group_id, user, f"Alerts unsilenced by {user}")
    elif row.rollback_id is not None:
        await _refresh_change(c, row.rollback_id)
        if row.incident_id is not None:
            async with c.transaction() as session:
                await incidents.record_event(
                    session,
                    row.incident_id,
                    kind="silence",
                    text=f"Alerts for {row.service} unsilenced by {user}",
                    actor=user,
                    data={"silence_id": row.id, "rollback_id": row.rollback_id},
                )
    return "expired"


async def expire_resolved(c: Container) -> None:
    """Tick job: end "until resolved" silences once the group resolved or no alert of theirs is left."""
    if c.catalog.alertmanager is None:
        return
    async with c.db.sessions() as session:
        rows = list(
            (
                await session.execute(
                    select(Silence, AlertGroup.resolved_at)
                    .join(AlertGroup, AlertGroup.id == Silence.group_id)
                    .where(Silence.status == "active", Silence.until_resolved.is_(True))
                    .order_by(Silence.id)
                    .limit(50)
                )
            ).all()
        )
    for silence, resolved_at in rows:
        if resolved_at is None:
            try:
                left = await store.gateway(c).alerts([filter_text(m) for m in silence.matchers])
            except SilenceError:
                break  # Alertmanager is not answering: try again at the next tick
            if left:
                continue  # still firing (silenced): keep the silence
        outcome = await store.expire(c, silence.id, "flare")
        if outcome.result == "expired" and silence.group_id is not None:
            await _changed(c, silence.group_id, "flare", "Silence ended: the alerts resolved")


async def _labels(session: Any, group: AlertGroup) -> dict[str, str]:
    rows = await session.execute(
        select(AlertRecord.labels)
        .join(AlertGroupMember, AlertGroupMember.alert_id == AlertRecord.id)
        .where(AlertGroupMember.group_id == group.id)
        .limit(500)
    )
    found = common_labels(labels or {} for (labels,) in rows)
    return found or {str(k): str(v) for k, v in (group.group_labels or {}).items()}


async def _changed(c: Container, group_id: int, actor: str, text: str) -> None:
    """Re-render the group message; record on the linked incident's timeline."""
    async with c.transaction() as session:
        group = await session.get(AlertGroup, group_id, with_for_update=True)
        if group is None:
            return
        group.version += 1
        if group.incident_id is not None:
            await incidents.record_event(
                session,
                group.incident_id,
                kind="silence",
                text=text,
                actor=actor,
                data={"group_id": group_id},
            )


async def _refused(c: Container, group: AlertGroup, user: str, reason: str) -> None:
    await _store_refusal(
        c,
        user,
        reason,
        values={"kind": "group", "matchers": [], "service": group.service, "env": group.env},
        group_id=group.id,
        incident_id=group.incident_id,
        text=f"Silence by {user} refused: {reason}",
        data={"group_id": group.id},
    )


async def _record_refusal(c: Container, row: Silence, user: str, reason: str) -> None:
    await _store_refusal(
        c,
        user,
        reason,
        values={
            "kind": row.kind,
            "matchers": row.matchers,
            "service": row.service,
            "env": row.env,
            "rollback_id": row.rollback_id,
            "comment": f"unsilence of #{row.id}",
        },
        group_id=row.group_id,
        incident_id=row.incident_id,
        text=f"Unsilence by {user} refused: {reason}",
        data={"silence_id": row.id},
    )


async def _store_refusal(
    c: Container,
    user: str,
    reason: str,
    *,
    values: dict[str, Any],
    group_id: int | None,
    incident_id: int | None,
    text: str,
    data: dict[str, Any],
) -> None:
    """Keep a refused silence or unsilence (and put it on the linked incident's timeline)."""
    now = c.clock.now()
    async with c.transaction() as session:
        await session.execute(
            insert(Silence).values(
                {
                    "status": "refused",
                    "group_id": group_id,
                    "incident_id": incident_id,
                    "created_by": user[:40],
                    "comment": "",
                    "until_resolved": False,
                    "starts_at": now,
                    "ends_at": now,
                    "created_at": now,
                    "error": reason,
                    **values,
                }
            )
        )
        if incident_id is not None:
            await incidents.record_event(
                session, incident_id, kind="silence_refused", text=text, actor=user, data=data
            )


async def _refresh_change(c: Container, rollback_id: int) -> None:
    async with c.transaction() as session:
        row = await session.get(Rollback, rollback_id)
        if row is not None:
            await refresh_message(c, session, row)
