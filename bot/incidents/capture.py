"""Capturing messages into the timeline (pinned, or given a 📌), and fetching what events leave out.

A capture is stored at once (in the event handler's transaction, before the ack); the message's
text and permalink are fetched from Slack afterwards when the event did not carry them
(`reaction_added` never does). The fetch runs right after the ack and again on every tick until
it succeeds, so a restart in between loses nothing.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.container import Container
from bot.incidents.models import Incident, IncidentEvent
from bot.incidents.timeline import TEXT_LIMIT, record_event
from bot.slack.gateway import SlackCallError, SlackPermanentError
from bot.slack.models import SlackRef

log = logging.getLogger("flare.incidents")
PLACEHOLDER = "(fetching the message…)"
MAX_FETCH_ATTEMPTS = 5


def message_time(ts: str) -> datetime:
    """A Slack message ts ('1700000000.000100') as an aware UTC datetime."""
    return datetime.fromtimestamp(float(ts), UTC)


def is_message_ts(ts: object) -> bool:
    """True for a Slack message timestamp like '1700000000.000100'."""
    if not isinstance(ts, str) or "." not in ts:
        return False
    seconds, _, micros = ts.partition(".")
    return seconds.isdigit() and micros.isdigit()


async def is_card(session: AsyncSession, incident: Incident, ts: str) -> bool:
    """True when `ts` is the incident's own summary card (Flare pins it; that is not news)."""
    ref = await session.get(SlackRef, incident.card_key)
    return ref is not None and ref.ts == ts


async def capture(
    session: AsyncSession,
    incident_id: int,
    *,
    channel: str,
    ts: str,
    author: str | None,
    text: str | None,
    permalink: str | None,
    captured_by: str | None,
    via: str,
) -> int | None:
    """Record a captured message once (pin and 📌 on the same message are one event).

    Returns the id of an event that still needs its text/permalink fetched, else None.
    """
    pending = text is None or permalink is None
    data: dict[str, Any] = {
        "channel": channel,
        "ts": ts,
        "author": author,
        "permalink": permalink,
        "captured_by": captured_by,
        "via": via,
    }
    key = f"message:{channel}:{ts}"
    inserted = await record_event(
        session,
        incident_id,
        kind="pinned",
        text=text if text is not None else PLACEHOLDER,
        actor=author,
        occurred_at=message_time(ts),
        data=data,
        dedup_key=key,
        pending_fetch=pending,
    )
    row = (
        await session.execute(
            select(IncidentEvent).where(
                IncidentEvent.incident_id == incident_id, IncidentEvent.dedup_key == key
            )
        )
    ).scalar_one()
    if not inserted and row.pending_fetch and text is not None and permalink is not None:
        # Captured earlier by a 📌 (no text); this pin carries the message, so complete it now.
        await _complete(session, row.id, text=text, author=author or row.actor, permalink=permalink)
        return None
    return row.id if row.pending_fetch else None


async def _complete(
    session: AsyncSession,
    event_id: int,
    *,
    text: str,
    author: str | None,
    permalink: str | None,
    error: str | None = None,
) -> None:
    row = await session.get(IncidentEvent, event_id)
    if row is None or not row.pending_fetch:
        return
    data = dict(row.data or {})
    data.update({"author": author, "permalink": permalink})
    if error:
        data["fetch_error"] = error
    await session.execute(
        update(IncidentEvent)
        .where(IncidentEvent.id == event_id, IncidentEvent.pending_fetch.is_(True))
        .values(text=text[:TEXT_LIMIT], actor=author, data=data, pending_fetch=False)
    )


async def fetch_message(c: Container, channel: str, ts: str) -> dict[str, Any] | None:
    """The message at `ts` in `channel` (top level or in a thread), or None if Slack has no such message."""
    history = await c.slack.call(
        "conversations.history",
        {"channel": channel, "latest": ts, "oldest": ts, "inclusive": True, "limit": 1},
    )
    for message in history.get("messages") or []:
        if message.get("ts") == ts:
            return dict(message)
    replies = await c.slack.call("conversations.replies", {"channel": channel, "ts": ts, "limit": 1})
    for message in replies.get("messages") or []:
        if message.get("ts") == ts:
            return dict(message)
    return None


async def enrich(c: Container, event_id: int) -> bool:
    """Fetch a pending capture's text, author and permalink; True when the event is complete."""
    async with c.db.sessions() as session:
        row = await session.get(IncidentEvent, event_id)
    if row is None or not row.pending_fetch:
        return True
    channel, ts = str(row.data.get("channel") or ""), str(row.data.get("ts") or "")
    try:
        message = await fetch_message(c, channel, ts)
        permalink = row.data.get("permalink")
        if message is not None and not permalink:
            found = await c.slack.call("chat.getPermalink", {"channel": channel, "message_ts": ts})
            permalink = found.get("permalink")
    except SlackPermanentError as exc:
        return await _give_up_or_retry(c, row, exc.error, permanent=True)
    except SlackCallError as exc:
        return await _give_up_or_retry(c, row, exc.error, permanent=False)
    async with c.db.transaction() as session:
        if message is None:
            await _complete(
                session,
                event_id,
                text="(message not found; it may have been deleted)",
                author=row.actor,
                permalink=None,
                error="message_not_found",
            )
        else:
            author = message.get("user") or message.get("bot_id") or row.actor
            await _complete(
                session, event_id, text=str(message.get("text") or ""), author=author, permalink=permalink
            )
    return True


async def _give_up_or_retry(c: Container, row: IncidentEvent, error: str, *, permanent: bool) -> bool:
    attempts = int(row.data.get("fetch_attempts") or 0) + 1
    async with c.db.transaction() as session:
        if permanent or attempts >= MAX_FETCH_ATTEMPTS:
            log.warning("could not fetch a captured message", extra={"event": row.id, "error": error})
            await _complete(
                session,
                row.id,
                text=f"(message could not be fetched: {error})",
                author=row.actor,
                permalink=row.data.get("permalink"),
                error=error,
            )
            return True
        await session.execute(
            update(IncidentEvent)
            .where(IncidentEvent.id == row.id)
            .values(data={**row.data, "fetch_attempts": attempts, "fetch_error": error})
        )
    return False


async def enrich_pending(c: Container) -> None:
    """Tick job: complete captured messages whose fetch has not succeeded yet."""
    async with c.db.sessions() as session:
        ids = (
            (
                await session.execute(
                    select(IncidentEvent.id)
                    .where(IncidentEvent.pending_fetch.is_(True))
                    .order_by(IncidentEvent.id)
                    .limit(50)
                )
            )
            .scalars()
            .all()
        )
    for event_id in ids:
        await enrich(c, event_id)
