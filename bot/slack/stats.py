"""Outbox backlog figures for health checks and metrics."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from bot.db.engine import Database
from bot.slack.models import OutboxItem


async def pending_stats(db: Database, now: datetime) -> tuple[int, float]:
    """How many items are pending, and the age in seconds of the oldest."""
    async with db.sessions() as session:
        row = (
            await session.execute(
                select(func.count(), func.min(OutboxItem.created_at)).where(OutboxItem.status == "pending")
            )
        ).one()
    count, oldest = int(row[0]), row[1]
    if oldest is None:
        return count, 0.0
    return count, max((now - oldest).total_seconds(), 0.0)


async def failed_stats(db: Database, since: datetime) -> tuple[int, str | None]:
    """How many items created since `since` Slack refused for good, and the newest one's method and reason."""
    async with db.sessions() as session:
        count = (
            await session.execute(
                select(func.count()).where(OutboxItem.status == "failed", OutboxItem.created_at >= since)
            )
        ).scalar_one()
        last = (
            await session.execute(
                select(OutboxItem.method, OutboxItem.last_error)
                .where(OutboxItem.status == "failed", OutboxItem.created_at >= since)
                .order_by(OutboxItem.id.desc())
                .limit(1)
            )
        ).first()
    return int(count), (f"{last[0]}: {last[1]}" if last else None)
