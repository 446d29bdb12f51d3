"""Named lease locks shared by every instance through the database (SQLite and PostgreSQL).

A lock is a row keyed by name. Taking it is an INSERT ... ON CONFLICT DO NOTHING, or a
compare-and-set UPDATE that steals it once its lease has expired; so exactly one holder wins even
when two instances try at the same moment. Holders renew the lease while they work, and a holder
that dies simply lets it expire.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.base import Base, JsonDoc
from bot.db.upsert import insert_ignore


class LeaseLock(Base):
    """One named lock and who holds it until when."""

    __tablename__ = "lease_locks"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    info: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    acquired_at: Mapped[datetime]
    expires_at: Mapped[datetime]


@dataclass(frozen=True)
class Holder:
    """Who holds a lock (as seen when we failed to take it)."""

    holder: str
    info: dict[str, Any]
    acquired_at: datetime
    expires_at: datetime


async def acquire(
    session: AsyncSession,
    name: str,
    holder: str,
    *,
    now: datetime,
    ttl: float,
    info: dict[str, Any] | None = None,
) -> Holder | None:
    """Take lock `name` for `holder`; None on success, else the current holder (lock not taken).

    Taking a lock that `holder` already holds renews it.
    """
    expires = now + timedelta(seconds=ttl)
    values = {"name": name, "holder": holder, "info": info or {}, "acquired_at": now, "expires_at": expires}
    if await insert_ignore(session, LeaseLock, values):
        return None
    stolen = await session.execute(
        update(LeaseLock)
        .where(LeaseLock.name == name, (LeaseLock.expires_at < now) | (LeaseLock.holder == holder))
        .values(holder=holder, info=info or {}, acquired_at=now, expires_at=expires)
        .execution_options(synchronize_session=False)
    )
    if getattr(stolen, "rowcount", 0) == 1:
        return None
    row = (await session.execute(select(LeaseLock).where(LeaseLock.name == name))).scalar_one_or_none()
    if row is None:  # released between our attempts: one more try
        if await insert_ignore(session, LeaseLock, values):
            return None
        row = (await session.execute(select(LeaseLock).where(LeaseLock.name == name))).scalar_one()
    return Holder(row.holder, dict(row.info or {}), row.acquired_at, row.expires_at)


async def renew(session: AsyncSession, name: str, holder: str, *, now: datetime, ttl: float) -> bool:
    """Extend the lease; False when `holder` no longer holds the lock."""
    result = await session.execute(
        update(LeaseLock)
        .where(LeaseLock.name == name, LeaseLock.holder == holder)
        .values(expires_at=now + timedelta(seconds=ttl))
        .execution_options(synchronize_session=False)
    )
    return getattr(result, "rowcount", 0) == 1


async def release(session: AsyncSession, name: str, holder: str) -> bool:
    """Drop the lock if `holder` holds it; True when it did."""
    result = await session.execute(
        delete(LeaseLock)
        .where(LeaseLock.name == name, LeaseLock.holder == holder)
        .execution_options(synchronize_session=False)
    )
    return getattr(result, "rowcount", 0) == 1


async def current(session: AsyncSession, name: str, *, now: datetime) -> Holder | None:
    """The live holder of `name`, if any (an expired lease counts as free)."""
    row = (await session.execute(select(LeaseLock).where(LeaseLock.name == name))).scalar_one_or_none()
    if row is None or row.expires_at < now:
        return None
    return Holder(row.holder, dict(row.info or {}), row.acquired_at, row.expires_at)
