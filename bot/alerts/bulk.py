"""Alert intake's bulk statements (alerts, groups, memberships) on the driver connection of the transaction.

SQLAlchemy processes every bound value in Python (type coercion, JSON, datetime formatting) and
spends ~250 µs of event-loop time per statement on this path; for a 100-alert payload that was most
of the request's CPU. These statements bind already-converted values straight to the driver
(aiosqlite or asyncpg). The transaction, every other statement and the schema stay SQLAlchemy's.
Values are stored exactly as SQLAlchemy stores them, so ORM reads and the unique indexes see the same
data either way (tests/alerts/test_bulk.py checks the round trip on both databases).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from json.encoder import encode_basestring_ascii
from typing import Any, NamedTuple, Protocol, TypeVar, cast

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

ALERT_COLUMNS = (
    "source",
    "dedup_key",
    "starts_at",
    "status",
    "ends_at",
    "received_at",
    "updated_at",
    "title",
    "summary",
    "service",
    "severity",
    "env",
    "runbook",
    "labels",
    "annotations",
    "links",
)
# PostgreSQL element types for unnest(), in ALERT_COLUMNS order.
_PG_TYPES = (
    "varchar",
    "varchar",
    "timestamptz",
    "varchar",
    "timestamptz",
    "timestamptz",
    "timestamptz",
    "varchar",
    "text",
    "varchar",
    "varchar",
    "varchar",
    "varchar",
    "jsonb",
    "jsonb",
    "jsonb",
)


class AlertRow(NamedTuple):
    """One occurrence to insert, in ALERT_COLUMNS order; datetimes aware UTC, documents as string maps."""

    source: str
    dedup_key: str
    starts_at: datetime
    status: str
    ends_at: datetime | None
    received_at: datetime
    updated_at: datetime
    title: str
    summary: str
    service: str | None
    severity: str | None
    env: str | None
    runbook: str | None
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    links: Mapping[str, str]


class GroupRow(NamedTuple):
    """A group to open, or to add to the open group with its (channel, group_key); in GROUP_COLUMNS order."""

    channel: str
    group_key: str
    route: str
    source: str
    title: str
    service: str | None
    env: str | None
    severity: str
    mention: str | None
    runbook: str | None
    group_labels: str
    firing: int
    total: int
    first_seen: datetime
    last_ended_at: datetime | None
    created_at: datetime
    updated_at: datetime
    next_render_at: datetime


class Joined(NamedTuple):
    """What the upsert left: the open group's id, key, when it may render next, and how many fire."""

    id: int
    channel: str
    group_key: str
    next_render_at: datetime
    firing: int


Identity = tuple[str, str, datetime]
T = TypeVar("T")


class BulkWriter(Protocol):
    """Insert alerts (ignoring conflicts) and group memberships in the current transaction."""

    async def insert_alerts(self, rows: Sequence[AlertRow]) -> dict[Identity, int]:
        """INSERT ... ON CONFLICT DO NOTHING; the id of each row actually inserted, by identity."""
        ...

    async def insert_members(self, pairs: Sequence[tuple[int, int]]) -> None:
        """Add (group_id, alert_id) memberships, not yet reported."""
        ...

    async def upsert_groups(self, rows: Sequence[GroupRow]) -> list[Joined]:
        """Open each group, or add its counts to the open one with the same key (keys are distinct)."""
        ...


def sqlite_timestamp(value: datetime) -> str:
    """The text SQLAlchemy's SQLite DATETIME stores for an aware `value` (naive UTC, microseconds always)."""
    v = value.astimezone(UTC)
    return "%04d-%02d-%02d %02d:%02d:%02d.%06d" % (  # noqa: UP031 - fixed widths, the fastest formatter
        v.year,
        v.month,
        v.day,
        v.hour,
        v.minute,
        v.second,
        v.microsecond,
    )


def once_per_value(fmt: Callable[[datetime], str]) -> Callable[[datetime | None], str | None]:
    """`fmt`, formatting each distinct datetime once (a batch's rows mostly share theirs); None stays None."""
    texts: dict[datetime, str] = {}

    def format_once(value: datetime | None) -> str | None:
        if value is None:
            return None
        text = texts.get(value)
        if text is None:
            text = texts[value] = fmt(value)
        return text

    return format_once


async def run_driver(statement: str, call: Awaitable[T]) -> T:
    """Await a driver call, raising what SQLAlchemy would (OperationalError, IntegrityError, ...).

    Callers tell "storage is down" (503) and "serialization failure" (retry) apart by those classes and by
    the driver's error underneath, exactly as for statements run through SQLAlchemy.
    """
    try:
        return await call
    except Exception as exc:
        raise DBAPIError.instance(statement, None, exc, Exception, hide_parameters=True) from exc


def string_map_json(value: Mapping[str, str]) -> str:
    """`json.dumps(value)` for a map of strings, byte for byte, in a third of the time."""
    if not value:
        return "{}"
    esc = encode_basestring_ascii
    try:
        return "{" + ", ".join([esc(k) + ": " + esc(v) for k, v in value.items()]) + "}"
    except TypeError:  # not all strings after all: let json decide
        return json.dumps(value)


class PostgresWriter:
    def __init__(self, driver: Any, connection: AsyncConnection) -> None:
        self.driver = driver
        self.connection = connection

    async def _fetch(self, sql: str, *args: Any) -> Sequence[Any]:
        if self.driver.is_in_transaction():
            return cast(Sequence[Any], await run_driver(sql, self.driver.fetch(sql, *args)))
        # SQLAlchemy's asyncpg adapter sends BEGIN lazily, with the first statement it runs itself; sent to
        # the driver directly, this one would run in autocommit. So the first goes through SQLAlchemy.
        result = await self.connection.exec_driver_sql(sql, args)
        return result.fetchall() if result.returns_rows else []

    async def insert_alerts(self, rows: Sequence[AlertRow]) -> dict[Identity, int]:
        if not rows:
            return {}
        # The rows travel as one JSON text: json.dumps encodes them in C, where asyncpg's array codec
        # spends ~30 µs per row checking and encoding 16 array elements (and this skips a JSON text per map).
        iso = once_per_value(datetime.isoformat)
        document = json.dumps(
            [
                (
                    r.source,
                    r.dedup_key,
                    iso(r.starts_at),
                    r.status,
                    iso(r.ends_at),
                    iso(r.received_at),
                    iso(r.updated_at),
                    *r[7:],
                )
                for r in rows
            ]
        )
        records = await self._fetch(_PG_INSERT, document)
        return {(r[1], r[2], r[3]): int(r[0]) for r in records}

    async def insert_members(self, pairs: Sequence[tuple[int, int]]) -> None:
        if pairs:
            await self._fetch(_PG_MEMBERS, [p[0] for p in pairs], [p[1] for p in pairs])

    async def upsert_groups(self, rows: Sequence[GroupRow]) -> list[Joined]:
        if not rows:
            return []
        columns = [list(column) for column in zip(*rows, strict=True)]
        records = await self._fetch(_PG_GROUP_UPSERT, *columns)
        return [Joined(int(r[0]), r[1], r[2], r[3], r[4]) for r in records]


COLUMNS_SQL = ", ".join(ALERT_COLUMNS)
RETURNING_SQL = "RETURNING id, source, dedup_key, starts_at"
# Element i of each row array, as its column's type (->> gives text, -> keeps a JSON document).
_PG_ELEMENTS = ", ".join(
    f"e->{i}" if t == "jsonb" else f"e->>{i}" if t == "varchar" else f"(e->>{i})::{t}"
    for i, t in enumerate(_PG_TYPES)
)
_PG_INSERT = (
    f"INSERT INTO alerts ({COLUMNS_SQL}) SELECT {_PG_ELEMENTS} "  # noqa: S608 - constants; values are bound
    f"FROM jsonb_array_elements($1::text::jsonb) AS e ON CONFLICT DO NOTHING {RETURNING_SQL}"
)
_PG_MEMBERS = (
    "INSERT INTO alert_group_members (group_id, alert_id, reported) "
    "SELECT g, a, 0 FROM unnest($1::bigint[], $2::bigint[]) AS t(g, a)"
)

GROUP_COLUMNS = GroupRow._fields
_GROUP_PG_TYPES = (
    "varchar",
    "varchar",
    "varchar",
    "varchar",
    "varchar",
    "varchar",
    "varchar",
    "varchar",
    "varchar",
    "varchar",
    "jsonb",
    "integer",
    "integer",
    "timestamptz",
    "timestamptz",
    "timestamptz",
    "timestamptz",
    "timestamptz",
)
# A new group starts at version 1, nothing rendered; an open one with the key takes the new counts.
# "P0" < "P1" < ...: the most severe level wins. Timestamps compare as text on SQLite (fixed width).
GROUP_COLUMNS_SQL = ", ".join(GROUP_COLUMNS) + ", version, rendered_version"
GROUP_UPSERT_SQL = """ON CONFLICT (channel, group_key) WHERE resolved_at IS NULL DO UPDATE SET
    firing = alert_groups.firing + excluded.firing,
    total = alert_groups.total + excluded.total,
    version = alert_groups.version + 1,
    updated_at = excluded.updated_at,
    severity = CASE WHEN excluded.severity < alert_groups.severity
        THEN excluded.severity ELSE alert_groups.severity END,
    first_seen = CASE WHEN excluded.first_seen < alert_groups.first_seen
        THEN excluded.first_seen ELSE alert_groups.first_seen END,
    last_ended_at = CASE WHEN alert_groups.last_ended_at IS NULL THEN excluded.last_ended_at
        WHEN excluded.last_ended_at > alert_groups.last_ended_at THEN excluded.last_ended_at
        ELSE alert_groups.last_ended_at END
RETURNING id, channel, group_key, next_render_at, firing"""
_PG_GROUP_ARRAYS = ", ".join(f"${i}::{t}[]" for i, t in enumerate(_GROUP_PG_TYPES, start=1))
_PG_GROUP_SELECT = f"SELECT *, 1, 0 FROM unnest({_PG_GROUP_ARRAYS})"  # noqa: S608 - constants
_PG_GROUP_UPSERT = f"INSERT INTO alert_groups ({GROUP_COLUMNS_SQL}) {_PG_GROUP_SELECT} {GROUP_UPSERT_SQL}"
