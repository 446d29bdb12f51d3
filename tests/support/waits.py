"""Waiting for a running Flare's background work: the outbox delivered, a condition met, a status reached."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from sqlalchemy import func, select

from bot.slack.models import OutboxItem

if TYPE_CHECKING:
    from tests.conftest import Flare


class _HasStatus(Protocol):
    status: Any


Row = TypeVar("Row", bound=_HasStatus)


async def settle(flare: Flare, timeout: float = 10.0) -> None:
    """Wait until the outbox has nothing pending (every Slack call made or failed)."""
    deadline = time.monotonic() + timeout
    while True:
        await flare.container.dispatcher.drain(timeout=timeout)
        async with flare.container.db.sessions() as session:
            pending = (
                await session.execute(
                    select(func.count()).select_from(OutboxItem).where(OutboxItem.status == "pending")
                )
            ).scalar_one()
        if pending == 0:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{pending} outbox items still pending after {timeout}s")
        await asyncio.sleep(0.05)


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    """Poll an async condition (background work: alert publishing, rollbacks)."""
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


async def wait_for_status(
    flare: Flare,
    model: type[Row],
    row_id: int,
    statuses: str | tuple[str, ...],
    *,
    what: str,
    timeout: float = 15.0,
) -> Row:
    """Wait until row `row_id` of `model` reaches one of `statuses`; then let the outbox deliver.

    `what` names the row in the failure message ("change", "run").
    """
    wanted = (statuses,) if isinstance(statuses, str) else statuses
    deadline = time.monotonic() + timeout
    while True:
        async with flare.container.db.sessions() as session:
            row = await session.get(model, row_id)
        if row is not None and row.status in wanted:
            await settle(flare)
            return row
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} #{row_id} is {row.status if row else 'missing'}, not {wanted}")
        await asyncio.sleep(0.03)
