"""The SQLite bulk writer: multi-row VALUES statements, run through aiosqlite or on its thread directly.

`SqliteWriter` sends each statement to aiosqlite's thread and awaits it (a thread hop per statement).
`ThreadWriter` runs them on a plain sqlite3 connection, for code already on that thread
(bot/alerts/sqlite_intake.py); its coroutines never suspend.
"""

from __future__ import annotations

import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from bot.alerts.bulk import (
    ALERT_COLUMNS,
    COLUMNS_SQL,
    GROUP_COLUMNS,
    GROUP_COLUMNS_SQL,
    GROUP_UPSERT_SQL,
    RETURNING_SQL,
    AlertRow,
    GroupRow,
    Identity,
    Joined,
    once_per_value,
    run_driver,
    sqlite_timestamp,
    string_map_json,
)

# SQLite allows 32,766 bound variables per statement (3.32+); 18 columns x 1,000 rows stays under it.
ROWS_PER_STATEMENT = 1000
_ROW = "(" + ", ".join("?" * len(ALERT_COLUMNS)) + ")"
_GROUP_ROW = "(" + ", ".join("?" * len(GROUP_COLUMNS)) + ", 1, 0)"
MEMBERS_SQL = "INSERT INTO alert_group_members (group_id, alert_id, reported) VALUES (?, ?, 0)"


def _datetime(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


class _Statements(ABC):
    """The statements; subclasses say how one is executed."""

    @abstractmethod
    async def _fetchall(self, sql: str, params: Sequence[Any]) -> list[Any]: ...

    @abstractmethod
    async def _executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...

    async def insert_alerts(self, rows: Sequence[AlertRow]) -> dict[Identity, int]:
        """INSERT ... ON CONFLICT DO NOTHING; the id of each row actually inserted, by identity."""
        ids: dict[Identity, int] = {}
        stamp = once_per_value(sqlite_timestamp)

        for start in range(0, len(rows), ROWS_PER_STATEMENT):
            chunk = rows[start : start + ROWS_PER_STATEMENT]
            params: list[Any] = []
            # SQLite returns RETURNING rows in no promised order: map them back by the stored text.
            identities: dict[tuple[str, str, str | None], Identity] = {}
            for row in chunk:
                starts = stamp(row.starts_at)
                identities[(row.source, row.dedup_key, starts)] = (row.source, row.dedup_key, row.starts_at)
                params += (
                    row.source,
                    row.dedup_key,
                    starts,
                    row.status,
                    stamp(row.ends_at),
                    stamp(row.received_at),
                    stamp(row.updated_at),
                    *row[7:13],
                    string_map_json(row.labels),
                    string_map_json(row.annotations),
                    string_map_json(row.links),
                )
            values = ", ".join([_ROW] * len(chunk))
            sql = f"INSERT INTO alerts ({COLUMNS_SQL}) VALUES {values} ON CONFLICT DO NOTHING {RETURNING_SQL}"  # noqa: S608 - constants; values are bound
            for alert_id, source, dedup_key, starts in await self._fetchall(sql, params):
                ids[identities[(source, dedup_key, starts)]] = int(alert_id)
        return ids

    async def insert_members(self, pairs: Sequence[tuple[int, int]]) -> None:
        """Add (group_id, alert_id) memberships, not yet reported."""
        if pairs:
            await self._executemany(MEMBERS_SQL, pairs)

    async def upsert_groups(self, rows: Sequence[GroupRow]) -> list[Joined]:
        """Open each group, or add its counts to the open one with the same key."""
        joined: list[Joined] = []
        for start in range(0, len(rows), ROWS_PER_STATEMENT):
            chunk = rows[start : start + ROWS_PER_STATEMENT]
            params: list[Any] = []
            for row in chunk:
                params += (
                    *row[:13],
                    sqlite_timestamp(row.first_seen),
                    None if row.last_ended_at is None else sqlite_timestamp(row.last_ended_at),
                    sqlite_timestamp(row.created_at),
                    sqlite_timestamp(row.updated_at),
                    sqlite_timestamp(row.next_render_at),
                )
            values = ", ".join([_GROUP_ROW] * len(chunk))
            sql = f"INSERT INTO alert_groups ({GROUP_COLUMNS_SQL}) VALUES {values} {GROUP_UPSERT_SQL}"  # noqa: S608 - constants; values are bound
            for group_id, channel, group_key, next_render_at, firing in await self._fetchall(sql, params):
                joined.append(Joined(int(group_id), channel, group_key, _datetime(next_render_at), firing))
        return joined


class SqliteWriter(_Statements):
    """Each statement runs on aiosqlite's thread; driver errors are raised as SQLAlchemy's."""

    def __init__(self, driver: Any) -> None:
        self.driver = driver

    async def _fetchall(self, sql: str, params: Sequence[Any]) -> list[Any]:
        return list(await run_driver(sql, self.driver.execute_fetchall(sql, params)))

    async def _executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        await run_driver(sql, self.driver.executemany(sql, rows))


class ThreadWriter(_Statements):
    """Statements on a sqlite3 connection, run where they are called: for code on the driver's thread."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection

    async def _fetchall(self, sql: str, params: Sequence[Any]) -> list[Any]:
        return self.connection.execute(sql, params).fetchall()

    async def _executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self.connection.executemany(sql, rows)
