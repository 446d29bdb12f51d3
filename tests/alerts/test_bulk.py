"""The driver-level bulk writes store exactly what SQLAlchemy would, on the migrated database of the lane."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from bot.alerts.bulk import AlertRow, sqlite_timestamp, string_map_json
from bot.alerts.bulk_writer import bulk_writer
from bot.alerts.models import AlertGroupMember, AlertRecord
from bot.db.engine import Database


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url, pool_size=1)
    yield database
    await database.close()


NOW = datetime(2026, 11, 23, 10, 0, 0, 123456, tzinfo=UTC)


def row(dedup_key: str, starts_at: datetime, **changes: Any) -> AlertRow:
    base = AlertRow(
        source="alertmanager",
        dedup_key=dedup_key,
        starts_at=starts_at,
        status="firing",
        ends_at=None,
        received_at=NOW,
        updated_at=NOW,
        title="HighLatency",
        summary='p99 > 2s for "checkout" <!channel>\n\\ 🔥',
        service="checkout",
        severity="critical",
        env="prod",
        runbook=None,
        labels={"alertname": "HighLatency", "zone": "europe-west1-b ✓"},
        annotations={"summary": "p99 > 2s"},
        links={},
    )
    return base._replace(**changes)


@given(st.dictionaries(st.text(), st.text(), max_size=6))
def test_string_map_json_is_json_dumps(value: dict[str, str]) -> None:
    assert string_map_json(value) == json.dumps(value)


def test_string_map_json_falls_back_for_values_that_are_not_text() -> None:
    assert string_map_json({"n": 3, "ok": True}) == '{"n": 3, "ok": true}'  # type: ignore[dict-item]


async def test_rows_read_back_through_the_orm_and_repeats_are_ignored(
    db: Database,
) -> None:
    # An offset-aware start in another zone, a start with no microseconds, and one resolved row.
    paris = datetime(2026, 11, 23, 11, 0, tzinfo=timezone(timedelta(hours=1)))
    rows = [
        row("a" * 40, paris),
        row("b", NOW - timedelta(hours=1)),
        row("c", NOW - timedelta(minutes=5), status="resolved", ends_at=NOW),
    ]
    async with db.transaction() as session:
        ids = await (await bulk_writer(session)).insert_alerts(rows)
    assert set(ids) == {(r.source, r.dedup_key, r.starts_at) for r in rows}
    async with db.transaction() as session:
        again = await (await bulk_writer(session)).insert_alerts([rows[0], row("d", NOW)])
        await (await bulk_writer(session)).insert_members([])
    assert list(again) == [("alertmanager", "d", NOW)]

    async with db.sessions() as session:
        stored = {r.dedup_key: r for r in (await session.scalars(select(AlertRecord))).all()}
        # SQLAlchemy compares bound datetimes with what the bulk insert stored.
        by_start = await session.scalar(select(AlertRecord.id).where(AlertRecord.starts_at == paris))
    assert by_start == ids[("alertmanager", "a" * 40, paris)]
    first = stored["a" * 40]
    assert first.starts_at == datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    assert first.starts_at.tzinfo is not None
    assert first.received_at == NOW
    assert first.updated_at == NOW
    assert first.labels == {"alertname": "HighLatency", "zone": "europe-west1-b ✓"}
    assert first.annotations == {"summary": "p99 > 2s"}
    assert first.links == {}
    assert first.summary == 'p99 > 2s for "checkout" <!channel>\n\\ 🔥'
    assert (first.status, first.ends_at, first.severity, first.env) == (
        "firing",
        None,
        "critical",
        "prod",
    )
    assert (stored["c"].status, stored["c"].ends_at) == ("resolved", NOW)
    assert sorted(stored) == ["a" * 40, "b", "c", "d"]


async def test_the_orm_and_the_bulk_writer_store_the_same_timestamp(db: Database, database_url: str) -> None:
    async with db.transaction() as session:
        session.add(
            AlertRecord(**{**row("orm", NOW)._asdict(), "labels": {}, "annotations": {}, "links": {}})
        )
    async with db.transaction() as session:
        await (await bulk_writer(session)).insert_alerts([row("bulk", NOW)])
    async with db.sessions() as session:
        stored = (await session.execute(text("SELECT DISTINCT starts_at FROM alerts"))).scalars().all()
    assert len(stored) == 1
    if database_url.startswith("sqlite"):  # text there: byte for byte what SQLAlchemy writes
        assert stored == [sqlite_timestamp(NOW)] == ["2026-11-23 10:00:00.123456"]


async def test_members_are_added_unreported(db: Database, database_url: str) -> None:
    async with db.transaction() as session:
        ids = await (await bulk_writer(session)).insert_alerts([row("m1", NOW), row("m2", NOW)])
        await session.execute(
            text(
                "INSERT INTO alert_groups (channel, group_key, route, source, title, severity,"
                " group_labels, firing, total, first_seen, created_at, updated_at, version,"
                " rendered_version, next_render_at) VALUES"
                " ('C1', 'k', 'default', 'alertmanager', 't', 'P1', '{}', 2, 2, :t, :t, :t, 1, 0, :t)"
            ),
            {"t": NOW if not database_url.startswith("sqlite") else sqlite_timestamp(NOW)},
        )
        group_id = await session.scalar(text("SELECT id FROM alert_groups"))
        await (await bulk_writer(session)).insert_members([(group_id, i) for i in sorted(ids.values())])
    async with db.sessions() as session:
        members = (await session.scalars(select(AlertGroupMember))).all()
    assert sorted((m.group_id, m.alert_id, m.reported) for m in members) == [
        (group_id, i, 0) for i in sorted(ids.values())
    ]


async def test_a_driver_error_surfaces_as_sqlalchemys_error(db: Database, database_url: str) -> None:
    async with db.transaction() as session:
        writer = await bulk_writer(session)
        with pytest.raises(DBAPIError) as raised:
            await writer.insert_alerts([row("x", NOW, title=None)])  # NOT NULL
        await session.rollback()
    # SQLite's IntegrityError becomes SQLAlchemy's; PostgreSQL's NotNullViolation keeps its
    # SQLSTATE underneath, where the retry and "storage is down" checks look for it.
    if database_url.startswith("sqlite"):
        assert isinstance(raised.value, IntegrityError)
    else:
        assert getattr(raised.value.__cause__, "sqlstate", None) == "23502"
    async with db.sessions() as session:
        assert (await session.scalars(select(AlertRecord))).all() == []


async def test_bulk_writes_roll_back_with_the_transaction(db: Database) -> None:

    async def write_then_fail() -> None:
        async with db.transaction() as session:
            # The bulk statements come first in the transaction, as in the intake's common case.
            await (await bulk_writer(session)).insert_alerts([row("gone", NOW)])
            raise RuntimeError("after the writes")

    with pytest.raises(RuntimeError, match="after the writes"):
        await write_then_fail()
    async with db.sessions() as session:
        assert (await session.scalars(select(AlertRecord))).all() == []
