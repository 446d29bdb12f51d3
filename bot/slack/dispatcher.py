"""Delivers the outbox to Slack: per-channel order and pacing, retries, and leases across instances.

Each lane (one Slack channel) is processed by one dispatcher at a time, under a lease row in
`slack_lanes` claimed with FOR UPDATE SKIP LOCKED (PostgreSQL) plus a compare-and-set on the lease,
so two processes sharing a database never send the same item. A process killed mid-send loses
its lease after `lease_seconds`, and another (or its restart) carries on.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock, SystemClock
from bot.db.engine import Database
from bot.observability.metrics import Metrics
from bot.slack.channels import ChannelCreator
from bot.slack.failures import FailureHook, report
from bot.slack.gateway import SlackGateway, SlackPermanentError, SlackRateLimited, SlackTransientError
from bot.slack.models import OutboxItem, OutboxLane, SlackRef
from bot.slack.outbox import CREATE_CHANNEL, RESPOND, UPLOAD_FILE
from bot.slack.refs import refs_in, resolve
from bot.slack.results import channel_name, label, lookup, result_ids

log = logging.getLogger("flare.outbox")

# ok:false errors that mean the desired state already holds.
BENIGN_ERRORS: dict[str, frozenset[str]] = {
    "conversations.invite": frozenset({"already_in_channel", "cant_invite_self"}),
    "pins.add": frozenset({"already_pinned"}),
    "reactions.add": frozenset({"already_reacted"}),
    "conversations.join": frozenset({"already_in_channel"}),
}
PACED_METHODS = frozenset({"chat.postMessage", UPLOAD_FILE})
# chat.update errors that mean the message is gone: the update is posted anew and its new ts recorded.
MESSAGE_GONE = frozenset({"message_not_found", "cant_update_message", "channel_not_found"})


@dataclass(frozen=True)
class DispatcherConfig:
    """Tuning knobs; the defaults follow Slack's documented limits."""

    lease_seconds: float = 20.0
    concurrency: int = 8
    poll_interval: float = 0.25
    per_channel_rate: float = 1.0  # chat.postMessage per second per channel
    burst: float = 2.0  # one short of what Slack tolerates: headroom for network jitter
    max_backoff: float = 60.0
    items_per_lease: int = 20
    dependency_wait: float = 0.5


@dataclass
class _Ready:
    item_id: int
    method: str
    payload: dict[str, Any]
    produces: str | None
    attempts: int
    created_at: datetime
    target: str | None = None


class Dispatcher:
    """Background delivery of outbox items."""

    def __init__(
        self,
        db: Database,
        gateway: SlackGateway,
        metrics: Metrics,
        *,
        config: DispatcherConfig | None = None,
        clock: Clock | None = None,
        owner: str | None = None,
    ) -> None:
        self.db = db
        self.gateway = gateway
        self.metrics = metrics
        self.config = config or DispatcherConfig()
        self.clock = clock or SystemClock()
        self.owner = owner or uuid.uuid4().hex[:16]
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._inflight: set[asyncio.Task[None]] = set()
        self._channels = ChannelCreator(gateway)
        # Called as listener(key, method, payload, error) after an item failed for good; key is the
        # message key the item produces or targets (chat.update), if any.
        self.failure_listeners: list[Callable[[str | None, str, dict[str, Any], str], Awaitable[None]]] = []
        # Run in the transaction that marks an item failed for good (set by the composition root).
        self.failure_hooks: list[FailureHook] = []
        # Run in the transaction that records a created channel: (session, key, Slack's answer).
        self.channel_hooks: list[ChannelHook] = []

    def wake(self) -> None:
        """Look for work now instead of at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        """Deliver until `stop` is called. Database errors are logged and retried."""
        log.info("outbox dispatcher started", extra={"owner": self.owner})
        while not self._stopping.is_set():
            try:
                claimed = await self._claim_and_start()
            except Exception:
                log.exception("outbox claim failed; retrying")
                claimed = 0
            if claimed == 0 or len(self._inflight) >= self.config.concurrency:
                await self._idle()

    async def _idle(self) -> None:
        self._wake.clear()
        wake = asyncio.ensure_future(self._wake.wait())
        stop = asyncio.ensure_future(self._stopping.wait())
        await asyncio.wait(
            {wake, stop}, timeout=self.config.poll_interval, return_when=asyncio.FIRST_COMPLETED
        )
        wake.cancel()
        stop.cancel()

    async def stop(self, timeout: float = 5.0) -> None:
        """Stop claiming lanes and wait (up to `timeout`) for sends in progress to finish."""
        self._stopping.set()
        if self._inflight:
            _done, pending = await asyncio.wait(set(self._inflight), timeout=timeout)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)

    async def drain(self, *, timeout: float = 30.0) -> None:
        """Deliver until nothing is ready (for tests, benchmarks and one-shot CLI use)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            claimed = await self._claim_and_start()
            if self._inflight:
                await asyncio.wait(set(self._inflight))
            elif claimed == 0:
                return
        raise TimeoutError("outbox did not drain in time")

    async def _claim_and_start(self) -> int:
        room = self.config.concurrency - len(self._inflight)
        if room <= 0 or self._stopping.is_set():
            return 0
        lanes = await self._claim(room)
        for lane in lanes:
            task = asyncio.create_task(self._process_lane(lane), name=f"outbox:{lane}")
            self._inflight.add(task)
            task.add_done_callback(self._inflight.discard)
        return len(lanes)

    async def _claim(self, limit: int) -> list[str]:
        now = self.clock.now()
        lease_until = now + timedelta(seconds=self.config.lease_seconds)
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

    async def _process_lane(self, lane: str) -> None:
        next_at: datetime | None = None
        try:
            for _ in range(self.config.items_per_lease):
                if self._stopping.is_set():
                    break
                keep_going, next_at = await self._step(lane)
                if not keep_going:
                    break
        except Exception:
            log.exception("outbox lane failed; will retry", extra={"lane": lane})
            next_at = self.clock.now() + timedelta(seconds=1)
        finally:
            try:
                await self._release(lane, next_at)
            except Exception:
                log.exception("could not release outbox lane; its lease will expire", extra={"lane": lane})
            self.wake()

    async def _release(self, lane: str, next_at: datetime | None) -> None:
        values: dict[str, Any] = {"lease_owner": None, "lease_until": None}
        if next_at is not None:
            values["next_at"] = next_at
        async with self.db.transaction() as session:
            await session.execute(
                update(OutboxLane)
                .where(OutboxLane.lane == lane, OutboxLane.lease_owner == self.owner)
                .values(**values)
            )

    async def _step(self, lane: str) -> tuple[bool, datetime | None]:
        """Handle the lane's next ready item: (carry on?, pause the lane until)."""
        prepared = await self._prepare(lane)
        if prepared is None:
            return False, None
        if isinstance(prepared, datetime):
            return False, prepared
        if isinstance(prepared, _Ready):
            pause = await self._send(prepared)
            return pause is None, pause
        return True, None

    async def _prepare(self, lane: str) -> _Ready | datetime | object | None:
        now = self.clock.now()
        async with self.db.transaction() as session:
            lane_row = await session.get(OutboxLane, lane, with_for_update=True)
            if lane_row is None or lane_row.lease_owner != self.owner:
                return None  # the lease expired and someone else took the lane
            lane_row.lease_until = now + timedelta(seconds=self.config.lease_seconds)
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
            if item.method == "chat.update" and item.target and await self._superseded(session, item):
                item.status = "superseded"
                return _CONTINUE
            keys = refs_in(item.payload)
            found = await self._refs(session, keys)
            missing = keys - found.keys()
            if missing:
                verdict = await self._missing_refs(session, missing)
                if verdict is None:
                    return now + timedelta(seconds=self.config.dependency_wait)
                self._fail(item, f"depends on {verdict}")
                return _CONTINUE
            if item.method in PACED_METHODS:
                elapsed = max((now - lane_row.tokens_at).total_seconds(), 0.0)
                tokens = min(self.config.burst, lane_row.tokens + elapsed * self.config.per_channel_rate)
                if tokens < 1.0:
                    return now + timedelta(seconds=(1.0 - tokens) / self.config.per_channel_rate)
                lane_row.tokens = tokens - 1.0
                lane_row.tokens_at = now
            payload = resolve(item.payload, lambda kind, key: lookup(found, kind, key))
            # An update that finds its message gone posts it anew, recorded under the key it targeted.
            produces = item.produces or (item.target if item.method == "chat.update" else None)
            return _Ready(
                item.id, item.method, payload, produces, item.attempts, item.created_at, item.target
            )

    async def _superseded(self, session: AsyncSession, item: OutboxItem) -> bool:
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

    async def _refs(self, session: AsyncSession, keys: set[str]) -> dict[str, SlackRef]:
        if not keys:
            return {}
        rows = (await session.execute(select(SlackRef).where(SlackRef.key.in_(keys)))).scalars().all()
        return {row.key: row for row in rows}

    async def _missing_refs(self, session: AsyncSession, missing: set[str]) -> str | None:
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

    async def _send(self, ready: _Ready) -> datetime | None:
        try:
            try:
                result = await self._execute(ready.method, ready.payload)
            except SlackPermanentError as exc:
                if ready.method != "chat.update" or exc.error not in MESSAGE_GONE:
                    raise
                result = await self._repost(ready, exc.error)
        except SlackRateLimited as exc:
            self.metrics.slack_errors.labels(ready.method, "ratelimited").inc()
            log.warning("slack rate limited", extra={"method": ready.method, "retry_after": exc.retry_after})
            return await self._retry_later(ready, "ratelimited", exc.retry_after)
        except SlackTransientError as exc:
            self.metrics.slack_errors.labels(ready.method, label(exc.error)).inc()
            delay = min(self.config.max_backoff, 2.0 ** min(ready.attempts, 10)) * random.uniform(0.8, 1.2)
            log.warning(
                "slack call failed; will retry",
                extra={"method": ready.method, "error": exc.error, "attempt": ready.attempts + 1},
            )
            return await self._retry_later(ready, exc.error, delay)
        except SlackPermanentError as exc:
            if exc.error in BENIGN_ERRORS.get(ready.method, frozenset()):
                result = {"ok": True, "benign_error": exc.error}
            else:
                self.metrics.slack_errors.labels(ready.method, label(exc.error)).inc()
                self.metrics.outbox_failed.labels(ready.method, label(exc.error)).inc()
                log.error(
                    "slack call failed permanently; item kept as failed",
                    extra={"method": ready.method, "error": exc.error, "item": ready.item_id},
                )
                async with self.db.transaction() as session:
                    item = await session.get(OutboxItem, ready.item_id)
                    if item is not None:
                        self._fail(item, exc.error)
                        await report(session, item, exc.error, self.clock.now(), self.failure_hooks)
                await self._tell_listeners(ready, exc.error)
                return None
        await self._record_success(ready, result)
        return None

    async def _tell_listeners(self, ready: _Ready, error: str) -> None:
        for listener in list(self.failure_listeners):
            try:
                await listener(ready.produces or ready.target, ready.method, ready.payload, error)
            except Exception:
                log.exception("outbox failure listener failed", extra={"method": ready.method})

    async def _retry_later(self, ready: _Ready, error: str, delay: float) -> datetime:
        async with self.db.transaction() as session:
            await session.execute(
                update(OutboxItem)
                .where(OutboxItem.id == ready.item_id)
                .values(attempts=OutboxItem.attempts + 1, last_error=error)
            )
        return self.clock.now() + timedelta(seconds=delay)

    async def _record_success(self, ready: _Ready, result: dict[str, Any]) -> None:
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
                    for hook in self.channel_hooks:
                        await hook(session, ready.produces, result)
        self.metrics.slack_calls.labels(ready.method, "ok").inc()
        self.metrics.outbox_delivery_seconds.labels(ready.method).observe(
            max((now - ready.created_at).total_seconds(), 0.0)
        )

    async def _repost(self, ready: _Ready, error: str) -> dict[str, Any]:
        """The message an update targets is gone: post its content anew (the new ts is recorded)."""
        log.warning(
            "message to update is gone; posting it anew", extra={"error": error, "item": ready.item_id}
        )
        self.metrics.slack_errors.labels(ready.method, label(error)).inc()
        post = {k: v for k, v in ready.payload.items() if k in ("channel", "text", "blocks")}
        result = await self.gateway.call(
            "chat.postMessage", {**post, "unfurl_links": False, "unfurl_media": False}
        )
        return {**result, "reposted": error}

    def _fail(self, item: OutboxItem, error: str) -> None:
        item.status = "failed"
        item.last_error = error[:2000]
        item.attempts += 1

    async def _execute(self, method: str, payload: dict[str, Any]) -> dict[str, Any]:
        if method == CREATE_CHANNEL:
            return await self._channels.create(payload)
        if method == RESPOND:
            return await self.gateway.respond(
                str(payload["url"]), {k: v for k, v in payload.items() if k != "url"}
            )
        if method == UPLOAD_FILE:
            return await self.gateway.upload_file(
                channel=payload["channel"],
                filename=payload["filename"],
                content=payload["content"],
                title=payload["title"],
                initial_comment=payload.get("initial_comment"),
            )
        return await self.gateway.call(method, payload)


_CONTINUE = object()
ChannelHook = Callable[[AsyncSession, str, dict[str, Any]], Awaitable[None]]
