"""Dialect-aware INSERT ... ON CONFLICT DO NOTHING."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.base import Base


def table_of(model: type[Base]) -> Table:
    """The Core Table behind a mapped class."""
    return cast(Table, model.__table__)


def _insert(session: AsyncSession, model: type[Base]) -> Any:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # The Table, not the mapped class: an ORM-enabled INSERT with parameters takes the ORM bulk
    # path, which does not report rowcount.
    return insert(table_of(model)).on_conflict_do_nothing()


async def insert_ignore(session: AsyncSession, model: type[Base], values: dict[str, Any]) -> bool:
    """Insert a row unless it conflicts with a unique key; True when a row was inserted."""
    # Values are bound parameters of one cached statement, not baked into a new statement per call.
    result = await session.execute(_insert(session, model), values)
    return bool(getattr(result, "rowcount", 0))


async def insert_ignore_many(session: AsyncSession, model: type[Base], rows: list[dict[str, Any]]) -> None:
    """Insert each row unless it conflicts with a unique key."""
    if rows:
        await session.execute(_insert(session, model), rows)
