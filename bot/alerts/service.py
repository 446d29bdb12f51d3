"""Alert intake: route, then store with group commit, then let the publisher render.

Concurrent requests are stored together: while one transaction runs, new submissions queue, and
the next transaction takes all of them (up to a size limit); a small batch first waits a few ms for
company. Each request is answered only after the transaction holding its alerts has committed.
Nothing about correctness depends on this batching; it only saves round trips under load.
On PostgreSQL two such transactions run at once, so one's round trips overlap the other's Python work
(concurrent transactions are safe: several instances already write side by side). SQLite has one
writer, so one transaction at a time.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter, deque
from dataclasses import dataclass

from sqlalchemy import update

from bot.alerts.alert import Parsed
from bot.alerts.linking import auto_declare
from bot.alerts.models import AlertGroup
from bot.alerts.outcome import Outcome
from bot.alerts.publisher import GroupPublisher
from bot.alerts.routing import Router
from bot.alerts.sqlite_intake import store_on_driver_thread
from bot.alerts.store import Submission, store_batch
from bot.container import Container
from bot.http.errors import is_storage_unavailable

log = logging.getLogger("flare.alerts")
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})  # serialization failure, deadlock


@dataclass
class _Pending:
    submission: Submission
    future: asyncio.Future[Outcome]
    size: int


class AlertIntake:
    """Stores parsed webhook payloads durably and keeps their group messages up to date."""

    def __init__(
        self,
        c: Container,
        *,
        max_batch_alerts: int = 2000,
        linger_seconds: float = 0.004,
        publisher: GroupPublisher | None = None,
    ):
        self.c = c
        self.publisher = publisher or GroupPublisher(c)
        self.max_batch_alerts = max_batch_alerts
        self.linger_seconds = linger_seconds
        self.router = Router(c.catalog)
        self._queue: deque[_Pending] = deque()
        self.concurrency = 1 if c.db.dialect == "sqlite" else 2
        self._workers: set[asyncio.Task[None]] = set()
        self._running = 0  # workers still draining (a finished one leaves the set only later, by callback)
        self._publishing: asyncio.Task[None] | None = None
        # Groups this process saw truncated, so a later complete notification sets them back to 0.
        self._truncated: set[int] = set()

    def start(self) -> None:
        """Start the publisher loop."""
        self._publishing = asyncio.create_task(self.publisher.run(), name="alert-publisher")

    async def stop(self) -> None:
        """Finish queued submissions and stop the publisher."""
        if self._workers:
            await asyncio.gather(*self._workers, return_exceptions=True)
        await self.publisher.stop()
        if self._publishing is not None:
            # Its progress is in the database (claims, versions), so cancelling mid-render loses nothing:
            # the next start or tick renders the group again.
            _done, pending = await asyncio.wait({self._publishing}, timeout=1.0)
            for task in pending:
                task.cancel()
            await asyncio.gather(self._publishing, return_exceptions=True)

    async def submit(self, parsed: Parsed) -> Outcome:
        """Route and durably store `parsed`; returns once committed (raises if storage fails)."""
        counts = Counter((alert.source, alert.status) for alert in parsed.alerts)
        for (source, status), count in counts.items():
            self.c.metrics.alerts_received.labels(source, status).inc(count)
        submission = Submission(
            [(alert, self.router.targets(alert)) for alert in parsed.alerts],
            delivery_key=parsed.delivery_key,
        )
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._queue.append(_Pending(submission, future, max(len(parsed.alerts), 1)))
        if self._running < self.concurrency:
            self._running += 1
            worker = asyncio.create_task(self._drain(), name="alert-intake")
            self._workers.add(worker)
            worker.add_done_callback(self._workers.discard)
        outcome = await future
        if parsed.truncated or (outcome.groups & self._truncated):
            await self._note_truncated(outcome.groups, parsed.truncated)
        return outcome

    async def _note_truncated(self, groups: set[int], truncated: int) -> None:
        """Record how many alerts the source left out of its last notification for these groups."""
        if not groups:
            return
        async with self.c.transaction() as session:
            await session.execute(
                update(AlertGroup)
                .where(AlertGroup.id.in_(sorted(groups)), AlertGroup.truncated != truncated)
                .values(truncated=truncated, version=AlertGroup.version + 1)
            )
        if truncated:
            self._truncated.update(groups)
        else:
            self._truncated.difference_update(groups)
        self.publisher.due(self.c.clock.now())

    async def _drain(self) -> None:
        try:
            await self._drain_queue()
        finally:
            self._running -= 1  # in the same step as the queue was found empty: no submission slips by

    async def _drain_queue(self) -> None:
        while self._queue:
            if sum(p.size for p in self._queue) < self.max_batch_alerts // 4:
                # A transaction costs ~1 ms of CPU however few alerts it holds: under a steady stream of
                # single-alert webhooks, waiting a few ms for the next ones costs less than committing each.
                await asyncio.sleep(self.linger_seconds)
                if not self._queue:  # another worker took them meanwhile
                    break
            batch = [self._queue.popleft()]
            size = batch[0].size
            while self._queue and size + self._queue[0].size <= self.max_batch_alerts:
                item = self._queue.popleft()
                batch.append(item)
                size += item.size
            try:
                outcomes = await self._store([p.submission for p in batch])
            except Exception as exc:
                if len(batch) > 1 and not is_storage_unavailable(exc):
                    # One bad submission must not fail the others stored with it: retry one by one.
                    for pending in batch:
                        await self._store_one(pending)
                    continue
                for pending in batch:
                    if not pending.future.done():
                        pending.future.set_exception(exc)
                continue
            for pending, outcome in zip(batch, outcomes, strict=True):
                if not pending.future.done():
                    pending.future.set_result(outcome)

    async def _store_one(self, pending: _Pending) -> None:
        try:
            (outcome,) = await self._store([pending.submission])
        except Exception as exc:
            if not pending.future.done():
                pending.future.set_exception(exc)
            return
        if not pending.future.done():
            pending.future.set_result(outcome)

    async def _store(self, batch: list[Submission]) -> list[Outcome]:
        if self.c.db.dialect == "sqlite":
            stored = await store_on_driver_thread(self.c.db, batch, self.c.clock.now())
            if stored is not None:
                for outcome in stored:
                    self.publisher.due(outcome.due)
                return stored
        for attempt in range(3):
            try:
                async with self.c.transaction() as session:
                    outcomes = await store_batch(session, batch, self.c.clock.now())
                    declare = set().union(*(o.declare for o in outcomes))
                    if declare:
                        await auto_declare(self.c, session, declare)
            except Exception as exc:
                if attempt < 2 and _retryable(exc):
                    log.info("alert batch hit a serialization conflict; retrying", extra={"attempt": attempt})
                    continue
                raise
            for outcome in outcomes:
                self.publisher.due(outcome.due)
            return outcomes
        raise AssertionError("unreachable")


def _retryable(exc: BaseException) -> bool:
    """A PostgreSQL serialization failure or deadlock, anywhere in the exception's chain."""
    seen: BaseException | None = exc
    for _ in range(6):
        if seen is None:
            return False
        state = getattr(seen, "sqlstate", None) or getattr(seen, "pgcode", None)
        if state in RETRYABLE_SQLSTATES:
            return True
        seen = getattr(seen, "orig", None) or seen.__cause__
    return False
