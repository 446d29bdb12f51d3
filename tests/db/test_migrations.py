"""The schema comes only from the migrations, and the models agree with them."""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect

from bot.db import migrate, schema
from bot.db.engine import make_engine
from migrations.metadata import metadata
from tests.conftest import pg_create_database, pg_drop_database, pg_url


@pytest.fixture
def empty_database(tmp_path: Path) -> Iterator[str]:
    """A brand-new, empty database on the lane under test."""
    base = pg_url()
    if base is None:
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
        return
    name = f"flare_migr_{os.getpid()}"
    url = asyncio.run(pg_create_database(base, name))
    try:
        yield url
    finally:
        asyncio.run(pg_drop_database(base, name))


def _diff(url: str) -> list[object]:
    async def run() -> list[object]:
        engine = make_engine(url, pool_size=1)
        try:
            async with engine.connect() as conn:

                def compare(sync_conn: Connection) -> list[object]:
                    context = MigrationContext.configure(sync_conn, opts={"compare_type": True})
                    return list(compare_metadata(context, metadata))

                return await conn.run_sync(compare)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _tables(url: str) -> set[str]:
    async def run() -> set[str]:
        engine = make_engine(url, pool_size=1)
        try:
            async with engine.connect() as conn:
                return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
        finally:
            await engine.dispose()

    return asyncio.run(run())


def test_empty_database_upgrades_to_head_and_matches_the_models(empty_database: str) -> None:
    migrate.upgrade(empty_database)
    assert asyncio.run(migrate.current_revision(empty_database)) == migrate.head_revision()
    assert _diff(empty_database) == []
    assert {t.name for t in metadata.sorted_tables} <= _tables(empty_database)


def test_downgrade_to_base_and_upgrade_again(empty_database: str) -> None:
    migrate.upgrade(empty_database)
    migrate.downgrade(empty_database, "base")
    assert _tables(empty_database) <= {"alembic_version"}
    migrate.upgrade(empty_database)
    assert _diff(empty_database) == []


def test_revision_ids_are_sequence_numbers_matching_file_names() -> None:
    versions = Path(str(resources.files("migrations"))) / "versions"
    for path in sorted(versions.glob("[0-9][0-9][0-9][0-9]_*.py")):
        text = path.read_text()
        match = re.search(r'^revision: str = "(\d{4})"', text, re.MULTILINE)
        assert match is not None, f"{path.name} has no four-digit revision id"
        assert match.group(1) == path.name[:4]
    assert schema.code_head() == migrate.head_revision()


def test_database_revision_reads_what_alembic_wrote(empty_database: str) -> None:
    assert asyncio.run(schema.database_revision(empty_database)) is None
    migrate.upgrade(empty_database)
    assert asyncio.run(schema.database_revision(empty_database)) == schema.code_head()
