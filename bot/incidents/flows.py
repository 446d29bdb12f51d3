"""Changing incidents: declare, transitions, severity, roles, updates, notes and action items.

Every function works inside the caller's transaction: the state change, its timeline event and
the Slack calls it causes (through the outbox) commit together or not at all.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.catalog import Catalog
from bot.container import Container
from bot.deploys import suspects as deploy_suspects
from bot.incidents import render
from bot.incidents.lifecycle import Action, IncidentError, check_transition, parse_severity, require_open
from bot.incidents.models import ActionItem, Incident
from bot.incidents.naming import channel_name
from bot.incidents.numbering import by_dedup_key, insert_numbered
from bot.incidents.timeline import record_event
from bot.incidents.types import DeclareRequest, snapshot
from bot.paging import hooks as paging
from bot.postmortem import requests as postmortem
from bot.slack.escape import truncate
from bot.slack.outbox import (
    Outbound,
    create_channel,
    enqueue,
    enqueue_all,
    invite,
    lane_for,
    pin_message,
    post_message,
    set_topic,
    update_message,
)
from bot.slack.refs import channel_ref

TITLE_LIMIT = 150
DESCRIPTION_LIMIT = 10_000
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


def reminder_minutes(catalog: Catalog, severity: str) -> int | None:
    """How often (minutes) an incident of `severity` needs a status update; None for never."""
    name = parse_severity(severity)
    return catalog.severity(name).reminder_minutes if name else None


def _next_reminder(catalog: Catalog, severity: str, since: datetime) -> datetime | None:
    minutes = reminder_minutes(catalog, severity)
    return since + timedelta(minutes=minutes) if minutes else None


def _is_user(value: str | None) -> bool:
    return bool(value and _USER_ID.match(value))


def announcement_targets(catalog: Catalog, service: str | None) -> list[tuple[str, str | None]]:
    """(channel, user group to mention) for the announcement channel and the service team's channel."""
    targets: list[tuple[str, str | None]] = []
    if catalog.channels.announcements:
        targets.append((catalog.channels.announcements, None))
    team = catalog.team_for(service) if service else None
    if team is not None:
        if any(channel == team.channel for channel, _ in targets):
            targets = [(c, team.user_group if c == team.channel else g) for c, g in targets]
        else:
            targets.append((team.channel, team.user_group))
    return targets


def responders(catalog: Catalog, service: str | None) -> list[str]:
    """The listed responders of the service's team."""
    team = catalog.team_for(service) if service else None
    return list(team.responders) if team else []


async def declare(
    c: Container, session: AsyncSession, request: DeclareRequest, *, origin: str | None = None
) -> Incident:
    """Store the incident and enqueue its channel, invites, pinned card, topic and announcements."""
    severity = parse_severity(request.severity)
    if severity is None:
        raise ValueError(f"unknown severity {request.severity!r}; use P0-P3")
    title = " ".join(request.title.split())
    if not title:
        raise ValueError("an incident needs a title")
    now = c.clock.now()
    values: dict[str, Any] = {
        "title": truncate(title, TITLE_LIMIT),
        "description": truncate(request.description.strip(), DESCRIPTION_LIMIT),
        "severity": severity,
        "status": "declared",
        "service": request.service,
        "commander": request.commander,
        "declared_by": request.declared_by[:32],
        "source": request.source[:32],
        "origin": origin[:200] if origin else None,
        "dedup_key": request.dedup_key,
        "channel_name": "",
        "declared_at": now,
        "impact_started_at": request.impact_started_at,
        "last_update_at": now,
        "next_reminder_at": _next_reminder(c.catalog, severity, now),
        "reminders_sent": 0,
        "updated_at": now,
    }
    table = cast(Table, Incident.__table__)
    if session.get_bind().dialect.name == "postgresql":
        new_id = await insert_numbered(session, table, values, request.dedup_key)
    else:
        # One round trip: insert unless the dedup key was declared before (or concurrently).
        stmt = sqlite.insert(table).on_conflict_do_nothing().returning(table.c.id)
        new_id = (await session.execute(stmt, values)).scalar_one_or_none()
    if new_id is None:
        assert request.dedup_key is not None
        existing = await by_dedup_key(session, request.dedup_key)
        assert existing is not None
        return existing
    values["channel_name"] = channel_name(c.catalog.incidents.channel_prefix, now, new_id, title)
    await session.execute(
        update(table).where(table.c.id == bindparam("row_id")).values(channel_name=bindparam("name")),
        {"row_id": new_id, "name": values["channel_name"]},
    )
    # A detached copy of what was stored (no ORM flush needed on this hot path).
    incident = Incident(id=new_id, **values)
    await record_event(
        session,
        new_id,
        kind="declared",
        text=f"Declared {severity}: {incident.title}",
        actor=request.declared_by,
        occurred_at=now,
        data={
            "severity": severity,
            "service": request.service,
            "source": request.source,
            "origin": origin,
            "commander": request.commander,
            "channel_name": incident.channel_name,
        },
    )
    if request.commander:
        await record_event(
            session,
            new_id,
            kind="role_assigned",
            text=f"commander: {request.commander}",
            actor=request.declared_by,
            occurred_at=now,
            data={"role": "commander", "user": request.commander, "previous": None},
        )
    suspects = await deploy_suspects.before_declare(session, c.catalog, request.service, now)
    for event in suspects.events:
        await record_event(session, new_id, **event)
    await deploy_suspects.link_declared(session, new_id, suspects.deploy_ids, now)
    paging_section = await paging.on_declared(c, session, incident)
    await _open_channel(c, session, incident, suspects.card_text, paging_section)
    return incident


def console_link(c: Container, human_id: str) -> str | None:
    """The incident's page in the web console, when the console is on."""
    return c.settings.console_url(f"incidents/{human_id}")


async def _open_channel(
    c: Container,
    session: AsyncSession,
    incident: Incident,
    suspects: str | None,
    paging_section: str | None = None,
    *,
    retry: int = 0,
) -> None:
    key = incident.channel_key
    channel = channel_ref(key)
    lane = lane_for(channel)
    s = snapshot(incident)
    dedup = f"{key}:create:{retry}" if retry else f"{key}:create"
    items = [create_channel(key, name=incident.channel_name, dedup_key=dedup)]
    people = [incident.declared_by, incident.commander, *responders(c.catalog, incident.service)]
    users = list(dict.fromkeys(u for u in people if u and _is_user(u)))
    if users:
        items.append(invite(channel, users))
    text, blocks = render.card(
        s, suspects=suspects, paging=paging_section, console_url=console_link(c, incident.human_id)
    )
    items.append(post_message(channel, text=text, blocks=blocks, key=incident.card_key))
    items.append(pin_message(incident.card_key, lane=lane))
    items.append(set_topic(channel, render.topic(s)))
    for target, group in announcement_targets(c.catalog, incident.service):
        text, blocks = render.announcement(s, f"<#{channel}>", group=group)
        if retry:  # the announcements went out without a channel: add its link now
            items.append(
                update_message(_announce_key(incident, target), lane=target, text=text, blocks=blocks)
            )
        else:
            items.append(post_message(target, text=text, blocks=blocks, key=_announce_key(incident, target)))
    await enqueue_all(session, items)


def _announce_key(incident: Incident, channel: str) -> str:
    return f"{incident.channel_key}:announce:{channel}"


async def refresh(
    c: Container, session: AsyncSession, incident: Incident, *, topic: bool = False, announce: bool = False
) -> None:
    """Enqueue the card update (and the topic / announcements when their fields changed)."""
    s = snapshot(incident)
    channel = channel_ref(incident.channel_key)
    if incident.channel_error is None:  # no channel, no card: only the announcements can change
        suspects = await deploy_suspects.card_section(
            session, c.catalog, incident.service, incident.declared_at
        )
        paging_section = await paging.card_section(c, session, incident)
        text, blocks = render.card(
            s, suspects=suspects, paging=paging_section, console_url=console_link(c, incident.human_id)
        )
        await enqueue(
            session, update_message(incident.card_key, lane=lane_for(channel), text=text, blocks=blocks)
        )
        if topic:
            await enqueue(session, set_topic(channel, render.topic(s)))
    if announce:
        for target, _group in announcement_targets(c.catalog, incident.service):
            text, blocks = render.announcement(s, f"<#{channel}>")
            await enqueue(
                session,
                update_message(_announce_key(incident, target), lane=target, text=text, blocks=blocks),
            )


async def _post(session: AsyncSession, incident: Incident, message: tuple[str, list[dict[str, Any]]]) -> None:
    text, blocks = message
    if incident.channel_error is not None:
        return  # Slack refused the channel; the command's answer says the text was not posted
    await enqueue(session, post_message(channel_ref(incident.channel_key), text=text, blocks=blocks))


async def change_status(
    c: Container,
    session: AsyncSession,
    incident: Incident,
    action: Action,
    actor: str,
    note: str | None = None,
) -> None:
    """Move the incident through its lifecycle, recording time and actor; IncidentError if not allowed."""
    target = check_transition(incident.human_id, incident.status, action)
    previous = incident.status
    now = c.clock.now()
    note = note.strip() if note else None
    incident.status = target
    incident.updated_at = now
    # A skipped step takes the time of the step that skipped it, so TTA/TTM stay defined.
    if action in ("ack", "mitigate", "resolve") and incident.acknowledged_at is None:
        incident.acknowledged_at, incident.acknowledged_by = now, actor
    if action in ("mitigate", "resolve") and incident.mitigated_at is None:
        incident.mitigated_at, incident.mitigated_by = now, actor
    if action == "resolve":
        incident.resolved_at, incident.resolved_by = now, actor
        incident.summary = note
        incident.next_reminder_at = None
    else:
        if action == "reopen":
            incident.resolved_at = incident.resolved_by = incident.summary = None
        incident.last_update_at = now
        incident.next_reminder_at = _next_reminder(c.catalog, incident.severity, now)
    await session.flush()
    await record_event(
        session,
        incident.id,
        kind="status_changed",
        text=f"{previous} → {target}" + (f": {note}" if note else ""),
        actor=actor,
        occurred_at=now,
        data={"from": previous, "to": target, "note": note},
    )
    await _post(session, incident, render.status_notice(snapshot(incident), actor, previous, note))
    await paging.on_status_changed(c, session, incident, action)
    await refresh(c, session, incident, topic=True, announce=True)
    if action == "resolve" and c.catalog.incidents.postmortem_on_resolve:
        await postmortem.request(c, session, incident, actor=actor, trigger="resolve")


async def change_severity(
    c: Container, session: AsyncSession, incident: Incident, severity: str, actor: str
) -> None:
    """Change the severity, recording old → new; reminders follow the new severity's interval."""
    require_open(incident.human_id, incident.status, "change its severity")
    if severity == incident.severity:
        raise IncidentError(f"{incident.human_id} is already {severity}.")
    previous = incident.severity
    now = c.clock.now()
    incident.severity = severity
    incident.updated_at = now
    incident.next_reminder_at = _next_reminder(c.catalog, severity, incident.last_update_at)
    await session.flush()
    await record_event(
        session,
        incident.id,
        kind="severity_changed",
        text=f"{previous} → {severity}",
        actor=actor,
        occurred_at=now,
        data={"from": previous, "to": severity},
    )
    await _post(session, incident, render.severity_notice(snapshot(incident), actor, previous))
    await paging.on_severity_changed(c, session, incident, previous)
    await refresh(c, session, incident, topic=True, announce=True)


async def assign_role(
    c: Container, session: AsyncSession, incident: Incident, role: str, user: str, actor: str
) -> None:
    """Make `user` the commander or comms lead, and invite them to the channel."""
    require_open(incident.human_id, incident.status, f"assign a {role}")
    previous = incident.commander if role == "commander" else incident.comms
    if previous == user:
        raise IncidentError(f"That user is already the {role} of {incident.human_id}.")
    now = c.clock.now()
    if role == "commander":
        incident.commander = user
    else:
        incident.comms = user
    incident.updated_at = now
    await session.flush()
    await record_event(
        session,
        incident.id,
        kind="role_assigned",
        text=f"{role}: {user}",
        actor=actor,
        occurred_at=now,
        data={"role": role, "user": user, "previous": previous},
    )
    channel = channel_ref(incident.channel_key)
    await enqueue(session, invite(channel, [user]))
    await _post(session, incident, render.role_notice(snapshot(incident), actor, role, user))
    await refresh(c, session, incident, topic=role == "commander", announce=role == "commander")


async def post_update(c: Container, session: AsyncSession, incident: Incident, text: str, actor: str) -> None:
    """Post a status update in the channel, record it, and restart the reminder interval."""
    require_open(incident.human_id, incident.status, "post an update")
    now = c.clock.now()
    incident.last_update_at = now
    incident.last_update_text = text
    incident.updated_at = now
    incident.next_reminder_at = _next_reminder(c.catalog, incident.severity, now)
    await session.flush()
    await record_event(session, incident.id, kind="update", text=text, actor=actor, occurred_at=now)
    await _post(session, incident, render.update_notice(snapshot(incident), actor, text))
    await refresh(c, session, incident)


async def add_note(c: Container, session: AsyncSession, incident: Incident, text: str, actor: str) -> None:
    """A timeline-only note."""
    await record_event(session, incident.id, kind="note", text=text, actor=actor, occurred_at=c.clock.now())


async def add_action_item(
    c: Container, session: AsyncSession, incident: Incident, text: str, owner: str | None, actor: str
) -> int:
    """Record a follow-up for the post-mortem; returns its id."""
    now = c.clock.now()
    item = ActionItem(incident_id=incident.id, text=text, owner=owner, created_by=actor, created_at=now)
    session.add(item)
    await session.flush()
    await record_event(
        session,
        incident.id,
        kind="action_item",
        text=text,
        actor=actor,
        occurred_at=now,
        data={"action_item_id": item.id, "owner": owner},
    )
    return item.id


def ephemeral_notice(channel: str, user: str, text: str) -> Outbound:
    """chat.postEphemeral through the outbox (feedback to a button click, after the ack)."""
    return Outbound(channel, "chat.postEphemeral", {"channel": channel, "user": user, "text": text})


async def open_channel_again(c: Container, session: AsyncSession, incident: Incident, *, retry: int) -> None:
    """Enqueue the channel, invites, card, topic and announcement links again (`/incident channel retry`)."""
    suspects = await deploy_suspects.card_section(session, c.catalog, incident.service, incident.declared_at)
    paging_section = await paging.card_section(c, session, incident)
    await _open_channel(c, session, incident, suspects, paging_section, retry=retry)
