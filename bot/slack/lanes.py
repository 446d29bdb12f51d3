"""The outbox's storage side: claiming and leasing lanes, picking a lane's next item, recording results.

Each lane (one Slack channel) is processed by one dispatcher at a time, under a lease row in
`slack_lanes` claimed with FOR UPDATE SKIP LOCKED (PostgreSQL) plus a compare-and-set on the lease,
so two processes sharing a database never send the same item. A process killed mid-send loses
its lease after `lease_seconds`, and another (or its restart) carries on. The dispatcher
(dispatcher.py) does the sending; everything here is SQL.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.db.engine import Database
from bot.slack.failures import FailureHook, report
from bot.slack.models import OutboxItem, OutboxLane, SlackRef
from bot.slack.outbox import CREATE_CHANNEL, UPLOAD_FILE
from bot.slack.refs import refs_in, resolve
from bot.slack.results import channel_name, lookup, result_ids

PACED_METHODS = frozenset({"chat.postMessage", UPLOAD_FILE})
# Run in the transaction that records a created channel: (session, key, Slack's answer).
ChannelHook = Callable[[AsyncSession, str, dict[str, Any]], Awaitable[None]]


@dataclass
class Ready:
    """An item ready to send now, its references resolved."""

    item_id: int
    method: str
    payload: dict[str, Any]
    produces: str | None
    attempts: int
    created_at: datetime
    target: str | None = None


CONTINUE = object()  # the step settled an item without sending (superseded, or failed on a dependency)


@dataclass(frozen=True)
class Pacing:
    """How long leases last and how fast a lane may post."""

    lease_seconds: float
    per_channel_rate: float
    burst: float
    dependency_wait: float


class LaneStore:
    """The SQL behind delivery, for one dispatcher (`owner`)."""

    def __init__(self, db: Database, clock: Clock, owner: str, pacing: Pacing) -> None:
        self.db = db
        self.clock = clock
        self.owner = owner
        self.pacing = pacing

    async def claim(self, limit: int) -> list[str]:
        """Lease up to `limit` free lanes that have an item ready."""
        now = self.clock.now()
        lease_until = now + timedelta(seconds=self.pacing.lease_seconds)
        ready_item = exists().where(
            OutboxItem.lane == OutboxLane.lane,
            OutboxItem.status == "pending",
            OutboxItem.not_before <= now,
        )
        free = or_(OutboxLane.lease_until.is_(None), OutboxLane.lease_until < now)
        async with self.db.transaction() as session:
            candidates = (
                (
                    await session.execute(
                        select(OutboxLane.lane)
                        .where(OutboxLane.next_at <= now, free, ready_item)
                        .order_by(OutboxLane.next_at)
                        .limit(limit)
                        .with_for_update(skip_locked=True, of=OutboxLane)
                    )
                )
                .scalars()
                .all()
            )
            claimed = []
            for lane in candidates:
                # Compare-and-set: only one claimer can move a free lease to itself.
                result = await session.execute(
                    update(OutboxLane)
                    .where(OutboxLane.lane == lane, free)
                    .values(lease_owner=self.owner, lease_until=lease_until)
                )
                if getattr(result, "rowcount", 0) == 1:
                    claimed.append(lane)
        return claimed

    async def release(self, lane: str, next_at: datetime | None) -> None:
        """Give the lane's lease back (pausing it until `next_at`, if given)."""
        values: dict[str, Any] = {"lease_owner": None, "lease_until": None}
        if next_at is not None:
            values["next_at"] = next_at
        async with self.db.transaction() as session:
            await session.execute(
                update(OutboxLane)
                .where(OutboxLane.lane == lane, OutboxLane.lease_owner == self.owner)
                .values(**values)
            )

    async def prepare(self, lane: str) -> Ready | datetime | object | None:
        """The lane's next item to send; a time to come back; CONTINUE; or None (nothing, or lease lost)."""
        now = self.clock.now()
        async with self.db.transaction() as session:
            lane_row = await session.get(OutboxLane, lane, with_for_update=True)
            if lane_row is None or lane_row.lease_owner != self.owner:
                return None  # the lease expired and someone else took the lane
            lane_row.lease_until = now + timedelta(seconds=self.pacing.lease_seconds)
            item = (
                await session.execute(
                    select(OutboxItem)
                    .where(
                        OutboxItem.lane == lane, OutboxItem.status == "pending", OutboxItem.not_before <= now
                    )
                    .order_by(OutboxItem.id)
                    .limit(1)
                    # Locked: a failure hook rewriting this item (e.g. an announcement whose channel
                    # was refused) waits for this step instead of being overwritten by it.
                    .with_for_update()
                )
            ).scalar_one_or_none()
            if item is None:
                return None
            if item.method == "chat.update" and item.target and await _superseded(session, item):
                item.status = "superseded"
                return CONTINUE
            keys = refs_in(item.payload)
            found = await _refs(session, keys)
            missing = keys - found.keys()
            if missing:
                verdict = await _missing_refs(session, missing)
                if verdict is None:
                    return now + timedelta(seconds=self.pacing.dependency_wait)
                fail(item, f"depends on {verdict}")
                return CONTINUE
            if item.method in PACED_METHODS:
                elapsed = max((now - lane_row.tokens_at).total_seconds(), 0.0)
                tokens = min(self.pacing.burst, lane_row.tokens + elapsed * self.pacing.per_channel_rate)
                if tokens < 1.0:
                    return now + timedelta(seconds=(1.0 - tokens) / self.pacing.per_channel_rate)
                lane_row.tokens = tokens - 1.0
                lane_row.tokens_at = now
            payload = resolve(item.payload, lambda kind, key: lookup(found, kind, key))
            # An update that finds its message gone posts it anew, recorded under the key it targeted.
            produces = item.produces or (item.target if item.method == "chat.update" else None)
            return Ready(item.id, item.method, payload, produces, item.attempts, item.created_at, item.target)

    async def retry_later(self, ready: Ready, error: str, delay: float) -> datetime:
        """Count the attempt and its error; the time the lane may try again."""
        async with self.db.transaction() as session:
            await session.execute(
                update(OutboxItem)
                .where(OutboxItem.id == ready.item_id)
                .values(attempts=OutboxItem.attempts + 1, last_error=error)
            )
        return self.clock.now() + timedelta(seconds=delay)

    async def failed_for_good(self, ready: Ready, error: str, hooks: list[FailureHook]) -> None:
        """Keep the item as failed with Slack's reason, and run the failure hooks in that transaction."""
        async with self.db.transaction() as session:
            item = await session.get(OutboxItem, ready.item_id)
            if item is not None:
                fail(item, error)
                await report(session, item, error, self.clock.now(), hooks)

    async def record_success(
        self, ready: Ready, result: dict[str, Any], channel_hooks: list[ChannelHook]
    ) -> datetime:
        """Mark the item sent and remember what it produced (a message's ts, a channel's id); now."""
        now = self.clock.now()
        channel, ts = result_ids(ready.method, result, ready.payload)
        async with self.db.transaction() as session:
            await session.execute(
                update(OutboxItem)
                .where(OutboxItem.id == ready.item_id)
                .values(
                    status="sent",
                    sent_at=now,
                    attempts=OutboxItem.attempts + 1,
                    last_error=None,
                    result={
                        "channel": channel,
                        "ts": ts,
                        "name": channel_name(result),
                        "reposted": result.get("reposted"),
                    },
                )
            )
            if ready.produces and channel and (ready.method != "chat.update" or result.get("reposted")):
                ref = await session.get(SlackRef, ready.produces)
                if ref is None:
                    session.add(SlackRef(key=ready.produces, channel_id=channel, ts=ts, updated_at=now))
                else:
                    ref.channel_id, ref.ts, ref.updated_at = channel, ts, now
                if ready.method == CREATE_CHANNEL:
                    for hook in channel_hooks:
                        await hook(session, ready.produces, result)
        return now


def fail(item: OutboxItem, error: str) -> None:
    """Mark `item` failed for good with `error`."""
    item.status = "failed"
    item.last_error = error[:2000]
    item.attempts += 1


async def _superseded(session: AsyncSession, item: OutboxItem) -> bool:
    newer = await session.execute(
        select(func.count())
        .select_from(OutboxItem)
        .where(
            OutboxItem.lane == item.lane,
            OutboxItem.target == item.target,
            OutboxItem.method == "chat.update",
            OutboxItem.status == "pending",
            OutboxItem.id > item.id,
        )
    )
    return bool(newer.scalar_one())


async def _refs(session: AsyncSession, keys: set[str]) -> dict[str, SlackRef]:
    if not keys:
        return {}
    rows = (await session.execute(select(SlackRef).where(SlackRef.key.in_(keys)))).scalars().all()
    return {row.key: row for row in rows}


async def _missing_refs(session: AsyncSession, missing: set[str]) -> str | None:
    """None while a producer of a missing reference is still pending; else why it never will be."""
    for key in sorted(missing):
        producer = (
            await session.execute(
                select(OutboxItem.status, OutboxItem.last_error)
                .where(OutboxItem.produces == key)
                .order_by(OutboxItem.id.desc())
                .limit(1)
            )
        ).first()
        if producer is None:
            return f"{key}, which nothing will create"
        if producer.status == "pending":
            return None
        if producer.status != "sent":
            return f"{key}, which failed: {producer.last_error}"
    return f"{', '.join(sorted(missing))}, which Slack did not identify"
