"""On SQLite, a whole alert batch as one call on the driver's thread: BEGIN IMMEDIATE, statements, COMMIT.

Through SQLAlchemy, each statement, the BEGIN and the COMMIT is a hop to aiosqlite's thread and back,
each waiting for the busy event loop (and the GIL) to collect its result; at 1,000 single-alert
webhooks per second that waiting, and SQLAlchemy's ~1 ms per transaction, dominated the latency. Here
store_batch itself runs on that thread with a writer whose statements complete without suspending.

Only the common case comes here: new firing alerts, no delivery ids, no target that auto-declares
(the incidents flow runs on the session), all known before trying. A collision with a stored alert,
or anything else that reaches for the SQLAlchemy session, rolls back and returns None, and the caller
stores the batch the general way; the outcome is the same either way.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Coroutine
from datetime import datetime
from typing import Any, NoReturn, TypeVar, cast

from sqlalchemy.ext.asyncio import AsyncSession

from bot.alerts.bulk import run_driver
from bot.alerts.bulk_sqlite import ThreadWriter
from bot.alerts.outcome import Outcome
from bot.alerts.store import Submission, store_batch
from bot.db.engine import Database

T = TypeVar("T")


class NeedsSession(Exception):
    """The batch needs a statement only the SQLAlchemy session runs."""


class _NoSession:
    """Stands in for the session: any use of it means the batch takes the general path."""

    def __getattr__(self, name: str) -> NoReturn:
        raise NeedsSession(name)


def complete(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that never suspends to its result (raising if it tries to wait for I/O)."""
    try:
        coro.send(None)
    except StopIteration as done:
        return cast(T, done.value)
    coro.close()
    raise RuntimeError("a coroutine run on the SQLite thread tried to suspend")


def _transaction(
    connection: sqlite3.Connection, batch: list[Submission], now: datetime
) -> list[Outcome] | None:
    connection.execute("BEGIN IMMEDIATE")
    try:
        session = cast(AsyncSession, _NoSession())
        outcomes = complete(store_batch(session, batch, now, ThreadWriter(connection)))
        connection.execute("COMMIT")
    except BaseException as exc:
        if connection.in_transaction:  # SQLite may already have rolled back (e.g. disk full)
            connection.execute("ROLLBACK")
        if isinstance(exc, NeedsSession):
            return None
        raise
    return outcomes


async def store_on_driver_thread(
    db: Database, batch: list[Submission], now: datetime
) -> list[Outcome] | None:
    """Store `batch` in one transaction on the SQLite driver's thread; None if it needs the general path."""
    for sub in batch:
        if sub.delivery_key is not None:
            return None
        for alert, targets in sub.alerts:
            # Known before trying: these need the session, so spare the attempt.
            if alert.status != "firing" or any(t.auto_declare for t in targets):
                return None
    async with db.engine.connect() as connection:  # no statement through it, so SQLAlchemy begins nothing
        raw = await connection.get_raw_connection()
        driver = raw.driver_connection
        if driver is None:
            raise RuntimeError("the pooled SQLite connection has no driver connection (it was invalidated)")
        # aiosqlite runs every call as a function on its one thread (`_execute`); this is one such call.
        return await run_driver(
            "BEGIN IMMEDIATE; <alert batch>; COMMIT", driver._execute(_transaction, driver._conn, batch, now)
        )
