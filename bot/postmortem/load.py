"""Reading what the draft is built from: the incident, its timeline, action items, alerts, Slack messages."""

from __future__ import annotations

import json
from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import Text, bindparam, cast, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.alerts.models import AlertRecord
from bot.incidents.models import ActionItem, Incident, IncidentEvent
from bot.people import directory as people
from bot.postmortem.links import message_keys
from bot.postmortem.model import (
    ActionItemFacts,
    AlertFacts,
    IncidentFacts,
    References,
    SlackMessage,
    TimelineEvent,
)
from bot.postmortem.render import EXCLUDED_KINDS
from bot.slack.escape import safe
from bot.slack.models import OutboxItem, SlackRef

CHUNK = 500
NOTICE_KINDS = frozenset({"update", "status_changed", "severity_changed"})
_TIME_AND_ID = itemgetter(4, 0)  # TimelineEvent.occurred_at, TimelineEvent.id


@dataclass(frozen=True)
class Sources:
    """Everything `render` needs, read in one transaction."""

    incident: IncidentFacts
    events: list[TimelineEvent]
    action_items: list[ActionItemFacts]
    refs: References


def facts(incident: Incident) -> IncidentFacts:
    """The renderer's copy of a stored incident."""
    return IncidentFacts(
        id=incident.id,
        title=incident.title,
        description=incident.description or "",
        severity=incident.severity,
        status=incident.status,
        service=incident.service,
        commander=incident.commander,
        comms=incident.comms,
        declared_by=incident.declared_by,
        source=incident.source,
        declared_at=incident.declared_at,
        channel_name=incident.channel_name,
        channel_id=incident.channel_id,
        impact_started_at=incident.impact_started_at,
        acknowledged_at=incident.acknowledged_at,
        acknowledged_by=incident.acknowledged_by,
        mitigated_at=incident.mitigated_at,
        mitigated_by=incident.mitigated_by,
        resolved_at=incident.resolved_at,
        resolved_by=incident.resolved_by,
        summary=incident.summary,
    )


async def load(session: AsyncSession, incident: Incident, *, workspace_url: str | None) -> Sources:
    """The incident's timeline (oldest first), action items and the references its events name."""
    info = facts(incident)
    events = await _events(session, info.id)
    items = (
        await session.execute(
            select(ActionItem).where(ActionItem.incident_id == info.id).order_by(ActionItem.id)
        )
    ).scalars()
    action_items = [
        ActionItemFacts(i.id, i.text, i.owner, i.status, i.created_by, i.created_at) for i in items
    ]
    channel = info.channel_id
    messages = await _messages(session, {k for e in events for k, _ in message_keys(e, info.id)})
    if channel is None:  # copied onto the incident by a tick job; until then only in slack_refs
        ref = await session.get(SlackRef, incident.channel_key)
        channel = ref.channel_id if ref is not None else None
    named = [info.declared_by, info.commander, info.acknowledged_by, info.mitigated_by, info.resolved_by]
    named += [e.actor for e in events] + [e.text for e in events if "<@" in e.text]
    named += [i.owner for i in action_items]
    named += [str(v) for e in events for k, v in e.data.items() if k in ("user", "previous") and v]
    refs = References(
        alerts=await _alerts(session, events),
        messages=messages,
        event_messages=await _channel_posts(session, incident, events),
        workspace_url=workspace_url,
        people=await people.names(session, people.user_ids(named)),
    )
    if channel != info.channel_id:
        info = replace(info, channel_id=channel)
    return Sources(info, events, action_items, refs)


async def page_references(
    session: AsyncSession,
    incident: Incident,
    events: Sequence[TimelineEvent],
    shown: Sequence[TimelineEvent],
    *,
    workspace_url: str | None,
) -> References:
    """The Slack messages the `shown` events (a page of the timeline) link to, without alert facts.

    Status notices are paired with their channel posts in timeline order, so `events` must hold every
    status notice (update, status and severity change) of the timeline, oldest first.
    """
    messages = await _messages(session, {k for e in shown for k, _ in message_keys(e, incident.id)})
    wanted = {e.id for e in shown}
    posts = await _channel_posts(session, incident, events)
    return References(
        messages=messages,
        event_messages={i: m for i, m in posts.items() if i in wanted},
        workspace_url=workspace_url,
    )


async def _events(session: AsyncSession, incident_id: int) -> list[TimelineEvent]:
    """The timeline, oldest first.

    The database hands the whole timeline over as two JSON arrays, of the events' facts and of their
    data documents (in the same order): for 10,000 events that is two to three times quicker than
    fetching rows and letting SQLAlchemy convert each time and document. Times come as ISO text with
    their UTC offset, so one `fromisoformat` call makes each aware.
    """
    e = IncidentEvent
    wanted = (e.incident_id == incident_id, e.kind.not_in(EXCLUDED_KINDS))
    if session.get_bind().dialect.name == "postgresql":
        # Offsets are those of the session's time zone (UTC unless configured otherwise).
        facts = func.json_build_array(e.id, e.kind, e.text, e.actor, e.occurred_at)
        stmt = select(cast(func.json_agg(facts), Text), cast(func.json_agg(e.data), Text))
    else:
        # SQLite stores times as naive UTC text ("2026-01-05 14:02:00.000000") and documents as JSON
        # text: those are joined as they are, which spares SQLite parsing them.
        when = cast(e.occurred_at, Text) + literal("+00:00")
        facts = func.json_array(e.id, e.kind, e.text, e.actor, when)
        joined = literal("[") + func.group_concat(cast(e.data, Text), literal(",")) + literal("]")
        stmt = select(func.json_group_array(facts), joined)
    rows, documents = (await session.execute(stmt.where(*wanted))).one()
    parse = datetime.fromisoformat
    # tuple.__new__ makes the TimelineEvent without a call to its generated __new__ (10,000 calls).
    new = tuple.__new__
    events = [
        new(
            TimelineEvent,
            (event_id, kind, text or "", actor, parse(when), data if isinstance(data, dict) else {}),
        )
        for (event_id, kind, text, actor, when), data in zip(_array(rows), _array(documents), strict=True)
    ]
    if any(ev.occurred_at.tzinfo is not UTC for ev in events):  # a session time zone other than UTC
        events = [ev._replace(occurred_at=ev.occurred_at.astimezone(UTC)) for ev in events]
    events.sort(key=_TIME_AND_ID)
    return events


def _array(raw: str | None) -> list[Any]:
    return json.loads(raw) if raw else []  # an aggregate of no rows is NULL


def _chunks(values: Iterable[Any]) -> Iterable[list[Any]]:
    ordered = sorted(values)
    for start in range(0, len(ordered), CHUNK):
        yield ordered[start : start + CHUNK]


async def _alerts(session: AsyncSession, events: Sequence[TimelineEvent]) -> dict[int, AlertFacts]:
    ids = {
        e.data["alert_id"]
        for e in events
        if e.kind.startswith("alert_") and isinstance(e.data.get("alert_id"), int)
    }
    found: dict[int, AlertFacts] = {}
    for chunk in _chunks(ids):
        rows = await session.execute(
            select(
                AlertRecord.id,
                AlertRecord.source,
                AlertRecord.title,
                AlertRecord.starts_at,
                AlertRecord.received_at,
            ).where(AlertRecord.id.in_(chunk))
        )
        for r in rows:
            found[r.id] = AlertFacts(r.id, r.source, r.title, r.starts_at, r.received_at)
    return found


async def _messages(session: AsyncSession, keys: set[str]) -> dict[str, SlackMessage]:
    found: dict[str, SlackMessage] = {}
    # An expanding parameter: the keys are not each checked as SQL literals when the statement is built.
    stmt = select(SlackRef.key, SlackRef.channel_id, SlackRef.ts).where(
        SlackRef.key.in_(bindparam("keys", expanding=True))
    )
    for chunk in _chunks(keys):
        rows = await session.execute(stmt, {"keys": chunk})
        for key, channel, ts in rows.all():
            if ts:
                found[key] = SlackMessage(channel, ts)
    return found


def notice_text(human_id: str, event: TimelineEvent) -> str | None:
    """The fallback text of the channel post an event caused (see bot.incidents.render), if any."""
    data = event.data or {}
    if event.kind == "update":
        return f"{human_id} update: {safe(event.text, 300)}"
    if event.kind == "status_changed" and data.get("to"):
        verb = "reopened" if data.get("from") == "resolved" else str(data["to"])
        return f"{human_id} {verb}"
    if event.kind == "severity_changed" and data.get("from") and data.get("to"):
        return f"{human_id} severity {data['from']} → {data['to']}"
    return None


async def _channel_posts(
    session: AsyncSession, incident: Incident, events: Sequence[TimelineEvent]
) -> dict[int, SlackMessage]:
    """Pair status updates and status/severity changes with the notices delivered in the channel.

    Those notices carry no outbox key, so they are matched by their fallback text, in order.
    """
    human_id = incident.human_id
    wanted = {
        e.id: text
        for e in events
        if e.kind in NOTICE_KINDS and (text := notice_text(human_id, e)) is not None
    }
    if not wanted:
        return {}
    text = OutboxItem.payload["text"].as_string()
    # The dispatcher stores result as {"channel": str | None, "ts": str | None}: read just those.
    channel, ts = OutboxItem.result["channel"].as_string(), OutboxItem.result["ts"].as_string()
    rows = await session.execute(
        select(text, channel, ts)
        .where(
            OutboxItem.lane == f"ref:{incident.channel_key}",
            OutboxItem.method == "chat.postMessage",
            OutboxItem.status == "sent",
            text.like(f"{incident.human_id} %"),
        )
        .order_by(OutboxItem.id)
    )
    delivered: dict[str, deque[SlackMessage]] = defaultdict(deque)
    for posted, channel_id, message_ts in rows.all():
        if channel_id and message_ts:
            delivered[posted].append(SlackMessage(channel_id, message_ts))
    found: dict[int, SlackMessage] = {}
    for event_id, expected in wanted.items():  # in timeline order
        if delivered.get(expected):
            found[event_id] = delivered[expected].popleft()
    return found
