"""Blocking Cloud Run client calls on daemon threads, so a hanging call never holds the process.

`asyncio.to_thread` uses the loop's default executor, whose worker threads the interpreter joins
at exit: a Cloud Run call stuck for 15 s kept a SIGTERMed process alive past Cloud Run's 10 s
grace period. A daemon thread per call lets the caller be cancelled and the process exit; the
abandoned call's result is dropped. Traffic changes cut short this way are resolved after the
restart from a fresh read (bot/rollback/recovery.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


async def in_daemon_thread(fn: Callable[[], T], *, name: str = "cloudrun-call") -> T:
    """Run `fn` on a new daemon thread and await its result (cancellable; the thread is abandoned)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def deliver(setter: Callable[[Any], None], value: Any) -> None:
        if not future.done():
            setter(value)

    def work() -> None:
        try:
            result = fn()
        except BaseException as exc:  # handed to the awaiting coroutine, which translates it
            _post(loop, deliver, future.set_exception, exc)
        else:
            _post(loop, deliver, future.set_result, result)

    threading.Thread(target=work, name=name, daemon=True).start()
    return await future


def _post(loop: asyncio.AbstractEventLoop, deliver: Callable[..., None], *args: Any) -> None:
    # A closed loop means the process is shutting down and nobody waits for the result.
    with contextlib.suppress(RuntimeError):
        loop.call_soon_threadsafe(deliver, *args)
