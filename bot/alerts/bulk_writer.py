"""Picks the bulk writer for a session's database: PostgreSQL's (bulk.py) or SQLite's (bulk_sqlite.py)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.alerts.bulk import BulkWriter, PostgresWriter
from bot.alerts.bulk_sqlite import SqliteWriter


async def bulk_writer(session: AsyncSession) -> BulkWriter:
    """The writer for the driver connection behind `session`'s transaction."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    if driver is None:
        raise RuntimeError("the session's connection has no driver connection (it was invalidated)")
    if connection.dialect.name == "postgresql":
        return PostgresWriter(driver, connection)
    if not driver.in_transaction:
        raise RuntimeError("bulk writes need the BEGIN IMMEDIATE of bot.db.engine's SQLite begin hook")
    return SqliteWriter(driver)
