"""Migration 0002 creates exactly what the incident models describe (no drift)."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect

from bot.db.engine import make_engine
from migrations.metadata import metadata

TABLES = {"incidents", "incident_events", "incident_action_items"}


def _table_of(diff: Any) -> str | None:
    if isinstance(diff, list):  # column modifications come grouped
        return _table_of(diff[0])
    for item in diff[1:]:
        name = getattr(item, "name", None)
        table = getattr(item, "table", None)
        if table is not None:
            return str(table.name)
        if isinstance(item, str) and item in TABLES:
            return item
        if name in TABLES:
            return str(name)
    return None


async def test_migrated_schema_matches_the_incident_models(database_url: str) -> None:
    engine = make_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as conn:

            def diffs(sync_conn: Connection) -> list[Any]:
                context = MigrationContext.configure(sync_conn, opts={"compare_type": True})
                return [d for d in compare_metadata(context, metadata) if _table_of(d) in TABLES]

            def tables(sync_conn: Connection) -> set[str]:
                return set(inspect(sync_conn).get_table_names())

            assert await conn.run_sync(diffs) == []
            assert await conn.run_sync(tables) >= TABLES
    finally:
        await engine.dispose()
