"""Reading alert groups' members for rendering."""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.alerts.models import AlertGroupMember, AlertRecord
from bot.alerts.render import AlertLine


async def group_alerts(session: AsyncSession, group_id: int, limit: int) -> list[AlertLine]:
    """The first `limit` alerts of a group: firing ones first, oldest first."""
    rows = await session.execute(
        select(
            AlertRecord.id,
            AlertRecord.title,
            AlertRecord.status,
            AlertRecord.starts_at,
            AlertRecord.summary,
            AlertRecord.ends_at,
            AlertRecord.links,
        )
        .join(AlertGroupMember, AlertGroupMember.alert_id == AlertRecord.id)
        .where(AlertGroupMember.group_id == group_id)
        .order_by(case((AlertRecord.status == "firing", 0), else_=1), AlertRecord.starts_at, AlertRecord.id)
        .limit(limit)
    )
    return [alert_line(r) for r in rows]


def alert_line(row: Any) -> AlertLine:
    """An AlertLine from a row with id, title, status, starts_at, summary, ends_at and links."""
    return AlertLine(
        id=row.id,
        title=row.title,
        status=row.status,
        starts_at=row.starts_at,
        summary=row.summary or "",
        ends_at=row.ends_at,
        links=dict(row.links or {}),
    )
