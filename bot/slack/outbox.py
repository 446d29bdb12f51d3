"""Writing Slack calls to the outbox, inside the caller's transaction.

Callers build `Outbound` values with the helpers below and pass them to `enqueue` in the same
session as the state change. Nothing reaches Slack until that transaction commits and the
dispatcher picks the item up.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.base import utcnow
from bot.db.upsert import insert_ignore, insert_ignore_many, table_of
from bot.slack.models import OutboxItem, OutboxLane
from bot.slack.refs import channel_ref, ts_ref

_OUTBOX = table_of(OutboxItem)
CREATE_CHANNEL = "flare.create_channel"
UPLOAD_FILE = "flare.upload_file"
RESPOND = "flare.respond"
# Who caused what is being enqueued (set around a command or action by its listener).
_CAUSE: ContextVar[tuple[str | None, str | None]] = ContextVar("flare_cause", default=(None, None))


@dataclass(frozen=True)
class Outbound:
    """A Slack call waiting to be made. `lane` is the channel it belongs to (ordering and pacing)."""

    lane: str
    method: str
    payload: dict[str, Any]
    produces: str | None = None
    target: str | None = None
    dedup_key: str | None = None
    not_before: datetime | None = None
    meta: dict[str, Any] = field(default_factory=dict)


def lane_for(channel: str) -> str:
    """The lane of a channel given as an id or as a `<flare:channel:KEY>` placeholder."""
    if channel.startswith("<flare:channel:") and channel.endswith(">"):
        return "ref:" + channel[len("<flare:channel:") : -1]
    return channel


def post_message(
    channel: str,
    *,
    text: str,
    blocks: list[dict[str, Any]] | None = None,
    key: str | None = None,
    thread_key: str | None = None,
    dedup_key: str | None = None,
    unfurl: bool = False,
) -> Outbound:
    """chat.postMessage; with `key`, the delivered ts is recorded so later calls can target it."""
    payload: dict[str, Any] = {
        "channel": channel,
        "text": text,
        "unfurl_links": unfurl,
        "unfurl_media": unfurl,
    }
    if blocks is not None:
        payload["blocks"] = blocks
    if thread_key is not None:
        payload["thread_ts"] = ts_ref(thread_key)
    return Outbound(lane_for(channel), "chat.postMessage", payload, produces=key, dedup_key=dedup_key)


def update_message(
    key: str,
    *,
    lane: str,
    text: str,
    blocks: list[dict[str, Any]] | None = None,
    not_before: datetime | None = None,
) -> Outbound:
    """chat.update of the message recorded under `key`; newer pending updates replace older ones."""
    payload: dict[str, Any] = {"channel": channel_ref(key), "ts": ts_ref(key), "text": text}
    if blocks is not None:
        payload["blocks"] = blocks
    return Outbound(lane, "chat.update", payload, target=key, not_before=not_before)


def pin_message(key: str, *, lane: str) -> Outbound:
    """pins.add for the message recorded under `key`."""
    return Outbound(lane, "pins.add", {"channel": channel_ref(key), "timestamp": ts_ref(key)}, target=key)


def create_channel(
    key: str, *, name: str, is_private: bool = False, dedup_key: str | None = None
) -> Outbound:
    """Create a channel (a suffix is added if the name is taken by someone else); recorded under `key`."""
    return Outbound(
        "ref:" + key,
        CREATE_CHANNEL,
        {"name": name, "is_private": is_private},
        produces=key,
        dedup_key=dedup_key,
    )


def invite(channel: str, users: list[str]) -> Outbound:
    """conversations.invite, tolerant of users already in the channel."""
    return Outbound(
        lane_for(channel),
        "conversations.invite",
        {"channel": channel, "users": ",".join(users), "force": True},
    )


def set_topic(channel: str, topic: str) -> Outbound:
    """conversations.setTopic (Slack caps topics at 250 characters)."""
    return Outbound(lane_for(channel), "conversations.setTopic", {"channel": channel, "topic": topic[:250]})


def upload_file(
    channel: str, *, filename: str, content: str, title: str, comment: str | None = None
) -> Outbound:
    """Upload a text file to a channel through files_upload_v2."""
    payload = {
        "channel": channel,
        "filename": filename,
        "content": content,
        "title": title,
        "initial_comment": comment,
    }
    return Outbound(lane_for(channel), UPLOAD_FILE, payload)


@contextmanager
def caused_by(user: str | None, response_url: str | None = None) -> Iterator[None]:
    """Items enqueued inside this block were caused by `user`: a permanent failure is told to them."""
    token = _CAUSE.set((user[:32] if user else None, response_url or None))
    try:
        yield
    finally:
        _CAUSE.reset(token)


def respond(url: str, *, user: str, text: str) -> Outbound:
    """An ephemeral reply through a slash command's or action's response_url."""
    payload = {"url": url, "text": text, "response_type": "ephemeral", "replace_original": False}
    return Outbound(f"respond:{user}", RESPOND, payload)


def _row(
    item: Outbound, now: datetime, cause: tuple[str | None, str | None] = (None, None)
) -> dict[str, Any]:
    return {
        "caused_by": cause[0],
        "response_url": cause[1],
        "lane": item.lane,
        "method": item.method,
        "payload": item.payload,
        "produces": item.produces,
        "target": item.target,
        "dedup_key": item.dedup_key,
        "status": "pending",
        "attempts": 0,
        "not_before": item.not_before or now,
        "created_at": now,
    }


async def _ensure_lanes(session: AsyncSession, lanes: list[str], now: datetime) -> None:
    # Remember which lanes this transaction already upserted (a rollback discards the memo too).
    tx = session.sync_session.get_transaction()
    memo = session.info.get("flare_lanes")
    if memo is None or memo[0] is not tx:
        memo = (tx, set())
        session.info["flare_lanes"] = memo
    ensured: set[str] = memo[1]
    missing = [lane for lane in dict.fromkeys(lanes) if lane not in ensured]
    if missing:
        rows = [{"lane": lane, "next_at": now, "tokens": 3.0, "tokens_at": now} for lane in missing]
        await insert_ignore_many(session, OutboxLane, rows)
        ensured.update(missing)
    session.info["flare_outbox_dirty"] = True


async def enqueue(session: AsyncSession, item: Outbound) -> bool:
    """Add `item` to the outbox in `session`'s transaction; False if its dedup_key was already used."""
    now = utcnow()
    row = _row(item, now, _CAUSE.get())
    # Core INSERTs run at once, so ids (and therefore per-lane order) follow the call order.
    if item.dedup_key is not None:
        inserted = await insert_ignore(session, OutboxItem, row)
    else:
        await session.execute(insert(_OUTBOX), row)
        inserted = True
    await _ensure_lanes(session, [item.lane], now)
    return inserted


async def enqueue_all(session: AsyncSession, items: list[Outbound]) -> None:
    """Enqueue several items in order, in as few statements as possible."""
    now = utcnow()
    cause = _CAUSE.get()
    batch: list[dict[str, Any]] = []
    for item in items:
        if item.dedup_key is None:
            batch.append(_row(item, now, cause))
            continue
        if batch:
            await session.execute(insert(_OUTBOX), batch)
            batch = []
        await insert_ignore(session, OutboxItem, _row(item, now, cause))
    if batch:
        await session.execute(insert(_OUTBOX), batch)
    await _ensure_lanes(session, [item.lane for item in items], now)
