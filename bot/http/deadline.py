"""Answer within the caller's budget even when the work behind a request hangs (a database that stopped).

The handler runs in its own task; past the deadline the caller gets its answer at once and the task
is cancelled and left to unwind in the background (its open transaction rolls back, never commits).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from aiohttp import web
from aiohttp.typedefs import Middleware

from bot.http.errors import json_error

log = logging.getLogger("flare.http")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
T = TypeVar("T")


class Unwinding:
    """Requests abandoned at their deadline, still unwinding: kept referenced until they finish."""

    def __init__(self) -> None:
        self.tasks: set[asyncio.Task[Any]] = set()

    def abandon(self, task: asyncio.Task[Any]) -> None:
        """Cancel `task` without waiting for it: its clean-up may itself wait on the hung peer."""
        task.cancel()
        self.tasks.add(task)
        task.add_done_callback(self._reap)

    def _reap(self, task: asyncio.Task[Any]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            error = type(task.exception()).__name__
            log.warning("abandoned request failed while unwinding", extra={"error": error})


async def within(work: Awaitable[T], seconds: float, unwinding: Unwinding) -> tuple[bool, T | None]:
    """(True, result) if `work` finished within `seconds`; else (False, None), with `work` abandoned."""
    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(work)
    waiter = loop.create_future()

    def wake(_arg: object = None) -> None:
        if not waiter.done():
            waiter.set_result(None)

    task.add_done_callback(wake)
    timer = loop.call_later(seconds, wake)
    try:
        await waiter
    except asyncio.CancelledError:
        unwinding.abandon(task)  # the caller went away (shutdown): so does its work
        raise
    finally:
        timer.cancel()
        task.remove_done_callback(wake)
    if task.done():
        return True, task.result()
    unwinding.abandon(task)
    return False, None


def deadline_middleware(routes: Sequence[tuple[str, float]], unwinding: Unwinding) -> Middleware:
    """Answer 503 when a request under one of the path prefixes in `routes` takes longer than its deadline."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        seconds = next((s for prefix, s in routes if request.path.startswith(prefix)), None)
        if seconds is None:
            return await handler(request)
        finished, response = await within(handler(request), seconds, unwinding)
        if finished:
            assert response is not None
            return response
        log.warning("request passed its deadline", extra={"path": request.path, "deadline_s": seconds})
        return json_error(
            503, f"Flare's database did not answer within {seconds:g} s; nothing was stored, retry later"
        )

    return middleware
