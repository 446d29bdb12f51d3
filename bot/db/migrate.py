"""Run Alembic migrations programmatically (the only way the schema is created)."""

from __future__ import annotations

import asyncio
from importlib import resources
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from bot.db.engine import make_engine


def alembic_config(url: str) -> Config:
    """An Alembic config pointing at the packaged migrations and `url`."""
    config = Config()
    config.set_main_option("script_location", str(resources.files("migrations")))
    config.attributes["database_url"] = url
    return config


def head_revision() -> str:
    """The newest revision the code knows."""
    script = ScriptDirectory.from_config(alembic_config("sqlite+aiosqlite://"))
    head = script.get_current_head()
    assert head is not None
    return head


def upgrade(url: str, revision: str = "head") -> None:
    """Upgrade the database at `url` to `revision` (blocking; run it outside the event loop)."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    """Downgrade the database at `url` to `revision`."""
    command.downgrade(alembic_config(url), revision)


async def current_revision(url: str) -> str | None:
    """The revision the database at `url` is at (None when empty)."""
    engine = make_engine(url, pool_size=1)
    try:
        async with engine.connect() as conn:

            def read(sync_conn: Connection) -> Any:
                return MigrationContext.configure(sync_conn).get_current_revision()

            revision: str | None = await conn.run_sync(read)
            return revision
    finally:
        await engine.dispose()


async def upgrade_async(url: str, revision: str = "head") -> None:
    """`upgrade` from async code, in a worker thread (Alembic drives its own event loop)."""
    await asyncio.to_thread(upgrade, url, revision)
