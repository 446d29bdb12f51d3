"""Idempotency keys for inbound deliveries (Slack event_id, view ids, webhook ids)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.base import Base, utcnow
from bot.db.upsert import insert_ignore


class InboundKey(Base):
    """A delivery we have already accepted; the primary key makes a replay a no-op."""

    __tablename__ = "inbound_keys"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


async def first_delivery(session: AsyncSession, key: str) -> bool:
    """Record `key`; True the first time it is seen, False for any replay (in this transaction)."""
    return await insert_ignore(session, InboundKey, {"key": key[:255], "created_at": utcnow()})


async def forget_older_than(session: AsyncSession, cutoff: datetime) -> int:
    """Delete keys older than `cutoff` (Slack stops retrying after minutes); returns how many."""
    result = await session.execute(delete(InboundKey).where(InboundKey.created_at < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)
