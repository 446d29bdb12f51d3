"""Sends queued PagerDuty events: in order per page, retried with backoff, claimed safely by one instance.

Like the Slack outbox: an event is claimed with FOR UPDATE SKIP LOCKED (PostgreSQL) plus a
compare-and-set on its lease, so instances sharing a database never send it twice at once; a
process killed mid-send loses the lease after `lease_seconds` and another (or its restart) carries on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.orm import aliased

from bot.container import Container
from bot.paging import notify, render
from bot.paging.client import PagerDutyGateway, PagerDutyRefused, PagerDutyRetry
from bot.paging.models import Page, PageEvent
from bot.settings import environment
from bot.slack.models import SlackRef

log = logging.getLogger("flare.paging")


@dataclass(frozen=True)
class WorkerConfig:
    """Tuning knobs."""

    lease_seconds: float = 20.0  # longer than one send (10 s timeout) plus bookkeeping
    concurrency: int = 8
    poll_interval: float = 0.2
    late_check_interval: float = 1.0
    max_backoff: float = 30.0
    alert_after: float = 60.0
    # A trigger waits this long at most for the incident channel, so the page can link to it.
    channel_wait: float = 3.0


@dataclass
class _Claimed:
    event_id: int
    page_id: int
    action: str
    body: dict[str, Any]
    attempts: int
    team: str
    incident_id: int
    page_created_at: datetime


class PageWorker:
    """Background delivery of pages."""

    def __init__(self, c: Container, gateway: PagerDutyGateway, config: WorkerConfig | None = None) -> None:
        self.c = c
        self.gateway = gateway
        self.config = config or WorkerConfig()
        self.owner = uuid.uuid4().hex[:16]
        self._wake = asyncio.Event()
        self._inflight: set[asyncio.Task[None]] = set()

    def wake(self) -> None:
        """Look for work now instead of at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        """Deliver until cancelled; database errors are logged and retried."""
        loop = asyncio.get_running_loop()
        next_late_check = 0.0
        while True:
            try:
                if loop.time() >= next_late_check:
                    next_late_check = loop.time() + self.config.late_check_interval
                    await self.check_late()
                await self._claim_and_start()
            except Exception:
                log.exception("page worker pass failed; retrying")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.config.poll_interval)

    async def stop(self) -> None:
        """Cancel sends in progress (their leases expire and another instance or restart resends)."""
        for task in list(self._inflight):
            task.cancel()
        if self._inflight:
            await asyncio.gather(*self._inflight, return_exceptions=True)

    async def drain(self, timeout: float = 30.0) -> None:
        """Send everything ready now (benchmarks and one-shot use)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            started = await self._claim_and_start()
            if self._inflight:
                await asyncio.wait(set(self._inflight))
            elif started == 0:
                return
        raise TimeoutError("pages did not drain in time")

    async def _claim_and_start(self) -> int:
        room = self.config.concurrency - len(self._inflight)
        if room <= 0:
            return 0
        claimed = await self._claim(room)
        for item in claimed:
            task = asyncio.create_task(self._deliver(item), name=f"page:{item.event_id}")
            self._inflight.add(task)
            task.add_done_callback(self._done)
        return len(claimed)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._inflight.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("page delivery failed; its lease will expire", exc_info=task.exception())
        self.wake()

    async def _claim(self, limit: int) -> list[_Claimed]:
        now = self.c.clock.now()
        earlier = aliased(PageEvent)
        free = or_(PageEvent.lease_until.is_(None), PageEvent.lease_until < now)
        first_of_page = ~exists().where(
            and_(earlier.page_id == PageEvent.page_id, earlier.status == "pending", earlier.id < PageEvent.id)
        )
        claimed: list[_Claimed] = []
        async with self.c.db.transaction() as session:
            rows = (
                await session.execute(
                    select(PageEvent.id)
                    .where(PageEvent.status == "pending", PageEvent.not_before <= now, free, first_of_page)
                    .order_by(PageEvent.id)
                    .limit(limit)
                    .with_for_update(skip_locked=True, of=PageEvent)
                )
            ).scalars()
            for event_id in list(rows):
                # Compare-and-set: only one claimer moves a free lease to itself.
                result = await session.execute(
                    update(PageEvent)
                    .where(PageEvent.id == event_id, PageEvent.status == "pending", free)
                    .values(
                        lease_owner=self.owner,
                        lease_until=now + timedelta(seconds=self.config.lease_seconds),
                    )
                )
                if getattr(result, "rowcount", 0) != 1:
                    continue
                event = await session.get(PageEvent, event_id)
                page = await session.get(Page, event.page_id) if event else None
                if event is None or page is None:
                    continue
                claimed.append(
                    _Claimed(
                        event.id,
                        page.id,
                        event.action,
                        dict(event.body),
                        event.attempts,
                        page.team,
                        page.incident_id,
                        page.created_at,
                    )
                )
        return claimed

    async def _deliver(self, item: _Claimed) -> None:
        async with self.c.db.sessions() as session:
            page = await session.get(Page, item.page_id)
            channel = await session.get(SlackRef, f"incident:{item.incident_id}")
        if page is None:
            return
        if item.action != "trigger" and page.state in ("failed", "cancelled"):
            await self._finish(item, "skipped", f"the page itself was {page.state}")
            return
        if item.action == "trigger" and await self._resolved_meanwhile(item):
            await self._cancel(item)
            return
        key, problem = self._routing_key(item.team)
        if key is None:
            await self._refused(item, problem, by_pagerduty=False)
            return
        body = item.body
        if item.action == "trigger" and channel is None:
            channel = await self._wait_for_channel(item)
        if item.action == "trigger" and channel is not None:
            url = f"https://slack.com/app_redirect?channel={channel.channel_id}"
            human = f"INC-{item.incident_id}"
            slack_link = {"href": url, "text": f"{human} incident channel"}
            body = {**body, "client_url": url, "links": [slack_link, *body.get("links", [])]}
        try:
            await self.gateway.send_event(key, body)
        except PagerDutyRetry as exc:
            self.c.metrics.pagerduty_events.labels(item.action, "retry").inc()
            await self._retry(item, exc)
            return
        except PagerDutyRefused as exc:
            self.c.metrics.pagerduty_events.labels(item.action, "refused").inc()
            await self._refused(item, exc.reason)
            return
        self.c.metrics.pagerduty_events.labels(item.action, "accepted").inc()
        await self._accepted(item)

    def _routing_key(self, team: str) -> tuple[str | None, str]:
        entry = self.c.catalog.teams.get(team)
        if entry is None or entry.pagerduty is None:
            return None, f"paging is no longer configured for team {team}"
        name = entry.pagerduty.routing_key_env
        value = environment().get(name, "").strip()
        if not value:
            return None, f"{name} is not set on the Flare server"
        return value, ""

    async def _finish(self, item: _Claimed, status: str, error: str | None) -> None:
        async with self.c.transaction() as session:
            await session.execute(
                update(PageEvent)
                .where(PageEvent.id == item.event_id, PageEvent.lease_owner == self.owner)
                .values(
                    status=status,
                    attempts=PageEvent.attempts + 1,
                    last_error=error,
                    sent_at=self.c.clock.now() if status == "sent" else None,
                    lease_owner=None,
                    lease_until=None,
                )
            )

    async def _resolved_meanwhile(self, item: _Claimed) -> bool:
        """True when the incident was resolved in Flare before PagerDuty took the page (no phone rings)."""
        async with self.c.db.sessions() as session:
            found = await session.scalar(
                select(
                    exists().where(
                        PageEvent.page_id == item.page_id,
                        PageEvent.action == "resolve",
                        PageEvent.status == "pending",
                        PageEvent.id > item.event_id,
                    )
                )
            )
        return bool(found)

    async def _cancel(self, item: _Claimed) -> None:
        reason = "the incident was resolved before PagerDuty took the page"
        await self._finish(item, "skipped", reason)
        async with self.c.transaction() as session:
            page = await session.get(Page, item.page_id, with_for_update=True)
            if page is not None and page.state == "pending":
                page.state, page.last_error = "cancelled", reason
                await session.flush()
                await notify.cancelled(self.c, session, page)

    def _wake_in(self, seconds: float) -> None:
        asyncio.get_running_loop().call_later(max(seconds, 0.0), self.wake)

    async def _wait_for_channel(self, item: _Claimed) -> SlackRef | None:
        """The incident channel, waiting briefly for Slack to create it so the page can link to it."""
        key = f"incident:{item.incident_id}"
        while (self.c.clock.now() - item.page_created_at).total_seconds() < self.config.channel_wait:
            await asyncio.sleep(0.02)
            async with self.c.db.sessions() as session:
                channel = await session.get(SlackRef, key)
            if channel is not None:
                return channel
        return None

    async def _retry(self, item: _Claimed, exc: PagerDutyRetry) -> None:
        base = exc.retry_after if exc.retry_after is not None else 2.0 ** min(item.attempts, 10)
        delay = min(self.config.max_backoff, base) * random.uniform(0.9, 1.1)
        self._wake_in(delay)
        log.warning(
            "pagerduty event not accepted; will retry",
            extra={"action": item.action, "error": exc.reason, "attempt": item.attempts + 1},
        )
        async with self.c.transaction() as session:
            await session.execute(
                update(PageEvent)
                .where(PageEvent.id == item.event_id, PageEvent.lease_owner == self.owner)
                .values(
                    attempts=PageEvent.attempts + 1,
                    last_error=exc.reason,
                    not_before=self.c.clock.now() + timedelta(seconds=delay),
                    lease_owner=None,
                    lease_until=None,
                )
            )
            if item.action == "trigger":
                await session.execute(
                    update(Page).where(Page.id == item.page_id).values(last_error=exc.reason[:2000])
                )

    async def _refused(self, item: _Claimed, reason: str, *, by_pagerduty: bool = True) -> None:
        log.error(
            "page event failed for good",
            extra={"action": item.action, "error": reason, "refused_by_pagerduty": by_pagerduty},
        )
        await self._finish(item, "failed", reason)
        # The whole sentence is kept: it is shown on the card, in /incident page and on /health/deep.
        sentence = render.refused(reason) if by_pagerduty else render.not_sent(reason)
        async with self.c.transaction() as session:
            page = await session.get(Page, item.page_id, with_for_update=True)
            if page is None:
                return
            if item.action != "trigger":
                await notify.follow_up_refused(self.c, session, page, item.action, sentence)
                return
            now = self.c.clock.now()
            page.state, page.failed_at, page.last_error = "failed", now, sentence[:2000]
            page.alerted_at = page.alerted_at or now
            await session.flush()
            await notify.undelivered(self.c, session, page, sentence, kind="failed")

    async def _accepted(self, item: _Claimed) -> None:
        await self._finish(item, "sent", None)
        if item.action != "trigger":
            return
        now = self.c.clock.now()
        async with self.c.transaction() as session:
            page = await session.get(Page, item.page_id, with_for_update=True)
            if page is None or page.state == "accepted":
                return
            page.state, page.accepted_at, page.last_error, page.failed_at = "accepted", now, None, None
            was_late = page.alerted_at is not None
            await session.flush()
            await notify.accepted(self.c, session, page, was_late=was_late)
        self.c.metrics.page_delivery_seconds.observe(max((now - item.page_created_at).total_seconds(), 0.0))

    async def check_late(self) -> None:
        """Pages not accepted within `alert_after` seconds are shown, once, as not delivered."""
        now = self.c.clock.now()
        cutoff = now - timedelta(seconds=self.config.alert_after)
        async with self.c.db.sessions() as session:
            late = (
                await session.execute(
                    select(Page.id).where(
                        Page.state == "pending", Page.alerted_at.is_(None), Page.created_at < cutoff
                    )
                )
            ).scalars()
            ids = list(late)
        for page_id in ids:
            async with self.c.transaction() as session:
                result = await session.execute(
                    update(Page)
                    .where(Page.id == page_id, Page.state == "pending", Page.alerted_at.is_(None))
                    .values(alerted_at=now)
                )
                if getattr(result, "rowcount", 0) != 1:
                    continue  # accepted meanwhile, or another instance told people already
                page = await session.get(Page, page_id)
                assert page is not None
                reason = render.late(self.config.alert_after, page.last_error)
                await notify.undelivered(self.c, session, page, reason, kind="late")
