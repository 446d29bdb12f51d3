"""Keeping a lease alive while background work runs, so other instances know it is not orphaned."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession

from bot.container import Container

log = logging.getLogger("flare.lease")

Renew = Callable[[AsyncSession], Awaitable[bool]]


def lease_seconds(c: Container) -> float:
    """How long a lease lasts without renewal (the instance-liveness lease, FLARE_OUTBOX_LEASE_SECONDS)."""
    return float(c.settings.flare_outbox_lease_seconds)


@asynccontextmanager
async def kept_alive(c: Container, renew: Renew, *, name: str) -> AsyncIterator[asyncio.Event]:
    """Renew a lease every third of its length while the body runs.

    The yielded event is set when a renewal finds the lease gone (someone declared the work
    interrupted); the body should then stop as soon as it safely can.
    """
    lost = asyncio.Event()
    interval = max(lease_seconds(c) / 3.0, 0.05)

    async def beat() -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                async with c.transaction() as session:
                    held = await renew(session)
            except Exception:
                # A database blip: the lease may still be valid; try again at the next beat.
                log.warning("lease renewal failed; retrying", extra={"lease": name}, exc_info=True)
                continue
            if not held:
                log.warning("lease lost", extra={"lease": name})
                lost.set()
                return

    task = asyncio.create_task(beat(), name=f"lease:{name}")
    try:
        yield lost
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
