"""The one-call SQLite transaction stores exactly what the general path stores, or hands the batch back.

These run on a migrated SQLite file of their own in both lanes: the path exists only for SQLite.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from bot.alerts.alert import Alert, Links
from bot.alerts.routing import Target
from bot.alerts.sqlite_intake import complete, store_on_driver_thread
from bot.alerts.store import Submission, store_batch
from bot.db import migrate
from bot.db.engine import Database

NOW = datetime(2026, 12, 4, 12, 0, 0, 250000, tzinfo=UTC)
TABLES = ("alerts", "alert_groups", "alert_group_members", "inbound_keys")


async def _database(path: Path) -> Database:
    url = f"sqlite+aiosqlite:///{path}"
    await migrate.upgrade_async(url)
    return Database(url)


@pytest.fixture
async def dbs(tmp_path: Path) -> AsyncIterator[tuple[Database, Database]]:
    """Two empty databases: one written on the driver's thread, one the general way."""
    fast, general = await _database(tmp_path / "fast.db"), await _database(tmp_path / "general.db")
    yield fast, general
    await fast.close()
    await general.close()


def target(group: str = "checkout", *, auto_declare: bool = False) -> Target:
    return Target("payments", "C0PAY", group, "P2", "S0ONCALL", auto_declare, (("alertname", group),))


def alert(key: str, *, status: str = "firing", starts: datetime = NOW, title: str = "HighLatency") -> Alert:
    return Alert(
        source="alertmanager",
        dedup_key=key,
        status=status,  # type: ignore[arg-type]
        starts_at=starts,
        ends_at=NOW + timedelta(minutes=5) if status == "resolved" else None,
        title=title,
        summary=f"{key} is slow <!channel>",
        labels={"alertname": "HighLatency", "instance": key},
        annotations={"summary": "p99 > 2s"},
        service="checkout",
        severity="warning",
        links=Links(generator="http://prometheus.example/graph"),
    )


def submission(
    *alerts: Alert, targets: list[Target] | None = None, delivery: str | None = None
) -> Submission:
    return Submission([(a, targets if targets is not None else [target()]) for a in alerts], delivery)


async def general_path(db: Database, batch: list[Submission]) -> list[Any]:
    async with db.transaction() as session:
        return await store_batch(session, batch, NOW)


async def contents(db: Database) -> dict[str, list[Any]]:
    async with db.engine.connect() as conn:
        return {
            table: [tuple(r) for r in (await conn.execute(text(f"SELECT * FROM {table} ORDER BY 1, 2")))]  # noqa: S608 - table names are constants
            for table in TABLES
        }


async def test_a_batch_stores_the_same_rows_and_outcomes_as_the_general_path(
    dbs: tuple[Database, Database],
) -> None:
    fast, general = dbs
    batch = [
        submission(alert("a"), alert("b")),
        submission(alert("c"), targets=[target(), target("search")]),
        submission(alert("a")),  # a repeat within the batch
        submission(alert("d"), targets=[]),  # unrouted
    ]
    fast_outcomes = await store_on_driver_thread(fast, batch, NOW)
    assert fast_outcomes == await general_path(general, batch)
    assert [(o.stored, o.duplicates, o.unrouted) for o in fast_outcomes] == [
        (2, 0, 0),
        (1, 0, 0),
        (0, 1, 0),
        (1, 0, 1),
    ]
    stored = await contents(fast)
    assert stored == await contents(general)
    assert len(stored["alerts"]) == 4
    assert len(stored["alert_groups"]) == 2
    assert len(stored["alert_group_members"]) == 4

    # Later alerts join the open groups, the same way on both.
    later = [submission(alert("e"), targets=[target("search")])]
    assert await store_on_driver_thread(fast, later, NOW) == await general_path(general, later)
    assert await contents(fast) == await contents(general)


@pytest.mark.parametrize(
    "case",
    ["delivery id", "resolve", "collision with a stored alert", "auto-declare"],
)
async def test_batches_that_need_the_session_are_handed_back_with_nothing_written(
    dbs: tuple[Database, Database], case: str
) -> None:
    fast, _ = dbs
    assert await store_on_driver_thread(fast, [submission(alert("stored"))], NOW) is not None
    before = await contents(fast)
    batch = {
        "delivery id": [submission(alert("new"), delivery="pd-webhook-1")],
        "resolve": [submission(alert("stored", status="resolved"))],
        "collision with a stored alert": [submission(alert("new"), alert("stored"))],
        "auto-declare": [submission(alert("new"), targets=[target("p1", auto_declare=True)])],
    }[case]
    assert await store_on_driver_thread(fast, batch, NOW) is None
    assert await contents(fast) == before
    # The general path then stores it, on the same connection (no transaction was left open).
    if case != "auto-declare":  # that one needs the whole app (the incidents flow)
        await general_path(fast, batch)
        assert await contents(fast) != before


async def test_a_failing_statement_raises_sqlalchemys_error_and_rolls_back(
    dbs: tuple[Database, Database],
) -> None:
    fast, _ = dbs
    bad = alert("bad", title=None)  # type: ignore[arg-type]
    with pytest.raises(IntegrityError):
        await store_on_driver_thread(fast, [submission(alert("ok"), bad)], NOW)
    assert (await contents(fast))["alerts"] == []
    assert await store_on_driver_thread(fast, [submission(alert("ok"))], NOW) is not None
    assert len((await contents(fast))["alerts"]) == 1


def test_complete_refuses_a_coroutine_that_suspends() -> None:
    async def waits() -> None:
        await asyncio.sleep(0)

    with pytest.raises(RuntimeError, match="tried to suspend"):
        complete(waits())

    async def returns() -> int:
        return 7

    assert complete(returns()) == 7
