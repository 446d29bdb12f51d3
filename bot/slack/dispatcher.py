"""Delivers the outbox to Slack: per-channel order and pacing, retries, and leases across instances.

The claiming, leasing and bookkeeping SQL lives in lanes.py; this module sends, and decides from
Slack's answer whether an item is done, retried later, or failed for good (and who is told).
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

from bot.clock import Clock, SystemClock
from bot.db.engine import Database
from bot.observability.metrics import Metrics
from bot.slack.channels import ChannelCreator
from bot.slack.failures import FailureHook
from bot.slack.gateway import SlackGateway, SlackPermanentError, SlackRateLimited, SlackTransientError
from bot.slack.lanes import CONTINUE, ChannelHook, LaneStore, Pacing, Ready
from bot.slack.outbox import CREATE_CHANNEL, RESPOND, UPLOAD_FILE
from bot.slack.results import label

log = logging.getLogger("flare.outbox")

# ok:false errors that mean the desired state already holds.
BENIGN_ERRORS: dict[str, frozenset[str]] = {
    "conversations.invite": frozenset({"already_in_channel", "cant_invite_self"}),
    "pins.add": frozenset({"already_pinned"}),
    "reactions.add": frozenset({"already_reacted"}),
    "conversations.join": frozenset({"already_in_channel"}),
}
# chat.update errors that mean the message is gone: the update is posted anew and its new ts recorded.
MESSAGE_GONE = frozenset({"message_not_found", "cant_update_message", "channel_not_found"})
# Errors a token rotation causes for a while (the old token revoked, the new one not yet deployed):
# retried for `auth_grace_seconds` before items are failed.
AUTH_ERRORS = frozenset({"invalid_auth", "token_expired", "token_revoked", "not_authed"})

__all__ = ["BENIGN_ERRORS", "ChannelHook", "Dispatcher", "DispatcherConfig"]


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
    auth_grace_seconds: float = 600.0


@dataclass(frozen=True)
class AuthTrouble:
    """Slack has refused the bot token since `since` (a rotation in progress, or a revoked token)."""

    error: str
    since: datetime
    until: datetime  # items are failed after this


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
        cfg = self.config
        self.lanes = LaneStore(
            db,
            self.clock,
            self.owner,
            Pacing(cfg.lease_seconds, cfg.per_channel_rate, cfg.burst, cfg.dependency_wait),
        )
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
        # Set while Slack refuses the token (cleared by the next successful call): /health/deep shows it.
        self.auth_trouble: AuthTrouble | None = None

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
        lanes = await self.lanes.claim(room)
        for lane in lanes:
            task = asyncio.create_task(self._process_lane(lane), name=f"outbox:{lane}")
            self._inflight.add(task)
            task.add_done_callback(self._inflight.discard)
        return len(lanes)

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
                await self.lanes.release(lane, next_at)
            except Exception:
                log.exception("could not release outbox lane; its lease will expire", extra={"lane": lane})
            self.wake()

    async def _step(self, lane: str) -> tuple[bool, datetime | None]:
        """Handle the lane's next ready item: (carry on?, pause the lane until)."""
        prepared = await self.lanes.prepare(lane)
        if prepared is None:
            return False, None
        if isinstance(prepared, datetime):
            return False, prepared
        if isinstance(prepared, Ready):
            pause = await self._send(prepared)
            return pause is None, pause
        assert prepared is CONTINUE
        return True, None

    async def _send(self, ready: Ready) -> datetime | None:
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
            return await self.lanes.retry_later(ready, "ratelimited", exc.retry_after)
        except SlackTransientError as exc:
            self.metrics.slack_errors.labels(ready.method, label(exc.error)).inc()
            log.warning(
                "slack call failed; will retry",
                extra={"method": ready.method, "error": exc.error, "attempt": ready.attempts + 1},
            )
            return await self.lanes.retry_later(ready, exc.error, self._backoff(ready))
        except SlackPermanentError as exc:
            if exc.error in BENIGN_ERRORS.get(ready.method, frozenset()):
                result = {"ok": True, "benign_error": exc.error}
            elif exc.error in AUTH_ERRORS and self._in_auth_grace(exc.error):
                self.metrics.slack_errors.labels(ready.method, label(exc.error)).inc()
                log.warning(
                    "slack refused the bot token; retrying while it may be rotating",
                    extra={"method": ready.method, "error": exc.error, "until": str(self._grace_until())},
                )
                return await self.lanes.retry_later(ready, exc.error, self._backoff(ready))
            else:
                await self._failed_for_good(ready, exc.error)
                return None
        now = await self.lanes.record_success(ready, result, self.channel_hooks)
        self.auth_trouble = None
        self.metrics.slack_calls.labels(ready.method, "ok").inc()
        self.metrics.outbox_delivery_seconds.labels(ready.method).observe(
            max((now - ready.created_at).total_seconds(), 0.0)
        )
        return None

    def _backoff(self, ready: Ready) -> float:
        return min(self.config.max_backoff, 2.0 ** min(ready.attempts, 10)) * random.uniform(0.8, 1.2)

    def _in_auth_grace(self, error: str) -> bool:
        """True while the token has been refused for less than the grace period (starting it if new)."""
        now = self.clock.now()
        if self.auth_trouble is None:
            until = now + timedelta(seconds=self.config.auth_grace_seconds)
            self.auth_trouble = AuthTrouble(error, now, until)
        return now < self.auth_trouble.until

    def _grace_until(self) -> datetime | None:
        return self.auth_trouble.until if self.auth_trouble is not None else None

    async def _failed_for_good(self, ready: Ready, error: str) -> None:
        self.metrics.slack_errors.labels(ready.method, label(error)).inc()
        self.metrics.outbox_failed.labels(ready.method, label(error)).inc()
        log.error(
            "slack call failed permanently; item kept as failed",
            extra={"method": ready.method, "error": error, "item": ready.item_id},
        )
        await self.lanes.failed_for_good(ready, error, self.failure_hooks)
        for listener in list(self.failure_listeners):
            try:
                await listener(ready.produces or ready.target, ready.method, ready.payload, error)
            except Exception:
                log.exception("outbox failure listener failed", extra={"method": ready.method})

    async def _repost(self, ready: Ready, error: str) -> dict[str, Any]:
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
