"""INC numbers: taken only once a declaration is known to be new, so they stay consecutive."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, func, select
from sqlalchemy import text as sql
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from bot.incidents.models import Incident


async def insert_numbered(
    session: AsyncSession, table: Table, values: dict[str, Any], dedup_key: str | None
) -> int | None:
    """PostgreSQL: the next INC number, taken only once the declaration is known to be new.

    A sequence hands out a number to every INSERT, even one its dedup key turns away (a Slack retry, a
    double submit, the second instance), so numbers would skip. Declarations take a transaction-scoped
    advisory lock instead, check the dedup key, and number the row max(id) + 1: consecutive across
    instances. The sequence is moved along too, for anything that inserts without a number.
    """
    await session.execute(sql("SELECT pg_advisory_xact_lock(hashtext('flare:incident-number'))"))
    if dedup_key is not None and await by_dedup_key(session, dedup_key) is not None:
        return None
    number = (await session.execute(select(func.coalesce(func.max(table.c.id), 0) + 1))).scalar_one()
    stmt = postgresql.insert(table).on_conflict_do_nothing().returning(table.c.id)
    new_id: int | None = (await session.execute(stmt, {**values, "id": number})).scalar_one_or_none()
    if new_id is not None:
        await session.execute(
            sql("SELECT setval(pg_get_serial_sequence('incidents', 'id'), :n)"), {"n": new_id}
        )
    return new_id


async def by_dedup_key(session: AsyncSession, key: str) -> Incident | None:
    """The incident declared with `key`, if any."""
    return (await session.execute(select(Incident).where(Incident.dedup_key == key))).scalar_one_or_none()
