"""The small typed container of dependencies that handlers receive (no module globals)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from sqlalchemy.ext.asyncio import AsyncSession

from bot.catalog import Catalog
from bot.clock import Clock
from bot.cloudrun.gateway import CloudRunGateway
from bot.db.engine import Database
from bot.observability.metrics import Metrics
from bot.settings import Settings
from bot.slack.dispatcher import Dispatcher
from bot.slack.gateway import SlackGateway

log = logging.getLogger("flare")


@dataclass
class BotIdentity:
    """Who the bot is in Slack, learned from auth.test once it answers."""

    user_id: str | None = None
    bot_id: str | None = None
    team_id: str | None = None


@dataclass
class Container:
    """Everything a handler may use, built once per app in create_app."""

    settings: Settings
    catalog: Catalog
    db: Database
    metrics: Metrics
    clock: Clock
    slack: SlackGateway
    dispatcher: Dispatcher
    cloudrun: CloudRunGateway
    http: aiohttp.ClientSession
    identity: BotIdentity = field(default_factory=BotIdentity)
    # Other background workers woken after a commit that marked them (session.info["flare_wake"]).
    wakers: dict[str, Callable[[], None]] = field(default_factory=dict)
    _tasks: set[asyncio.Task[Any]] = field(default_factory=set)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A committed-on-success transaction; wakes the outbox dispatcher if it enqueued anything."""
        async with self.db.transaction() as session:
            yield session
        if session.info.pop("flare_outbox_dirty", False):
            self.dispatcher.wake()
        for name in session.info.pop("flare_wake", ()):
            waker = self.wakers.get(name)
            if waker is not None:
                waker()

    def spawn(self, coro: Coroutine[Any, Any, Any], *, name: str) -> asyncio.Task[Any]:
        """Run `coro` in the background; shutdown waits for it. Failures are logged, not lost."""
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task failed", exc_info=task.exception(), extra={"task": task.get_name()})

    async def wait_for_tasks(self, timeout: float) -> None:
        """Wait for background tasks to finish, cancelling any still running after `timeout`."""
        if not self._tasks:
            return
        _done, pending = await asyncio.wait(set(self._tasks), timeout=timeout)
        for task in pending:
            task.cancel()
