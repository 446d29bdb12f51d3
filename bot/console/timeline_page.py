"""One page of an incident's timeline read with keyset pagination: a 10,000-event incident costs what a
short one does (the page, two counts on the (incident_id, occurred_at) index, and the status notices)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.incidents.models import IncidentEvent
from bot.postmortem.load import NOTICE_KINDS
from bot.postmortem.model import TimelineEvent

_E = IncidentEvent
_COLUMNS = (_E.id, _E.kind, _E.text, _E.actor, _E.occurred_at, _E.data)


@dataclass(frozen=True)
class TimelinePage:
    """The events shown, where they start, how many there are, and the cursors around them."""

    events: list[TimelineEvent]
    notices: list[TimelineEvent]
    total: int
    start: int
    next_after: int | None
    previous_after: int | None  # 0: the first page


def _event(row: tuple[object, ...]) -> TimelineEvent:
    event_id, kind, text, actor, occurred_at, data = row
    assert isinstance(occurred_at, datetime)
    return TimelineEvent(
        int(str(event_id)),
        str(kind),
        str(text or ""),
        actor if isinstance(actor, str) else None,
        occurred_at,
        data if isinstance(data, dict) else {},
    )


def _after(at: datetime, event_id: int) -> ColumnElement[bool]:
    return or_(_E.occurred_at > at, and_(_E.occurred_at == at, _E.id > event_id))


def _up_to(at: datetime, event_id: int) -> ColumnElement[bool]:
    return or_(_E.occurred_at < at, and_(_E.occurred_at == at, _E.id <= event_id))


async def read_page(
    session: AsyncSession, incident_id: int, *, after: int | None, page_size: int
) -> TimelinePage:
    """The page of the timeline (oldest first) that follows event `after` (the first page when None)."""
    mine = _E.incident_id == incident_id
    total = int((await session.execute(select(func.count()).where(mine))).scalar_one())
    cursor = None
    if after:
        cursor = (
            await session.execute(select(_E.occurred_at).where(mine, _E.id == after))
        ).scalar_one_or_none()
    page = select(*_COLUMNS).where(mine).order_by(_E.occurred_at, _E.id).limit(page_size)
    start = 0
    previous_after: int | None = None
    if cursor is not None and after is not None:
        page = page.where(_after(cursor, after))
        start = int(
            (await session.execute(select(func.count()).where(mine, _up_to(cursor, after)))).scalar_one()
        )
        if start > page_size:
            back = (
                select(_E.id)
                .where(mine, _up_to(cursor, after))
                .order_by(_E.occurred_at.desc(), _E.id.desc())
                .offset(page_size)
                .limit(1)
            )
            previous_after = (await session.execute(back)).scalar_one_or_none()
        elif start > 0:
            previous_after = 0
    events = [_event(tuple(row)) for row in (await session.execute(page)).all()]
    notices_stmt = select(*_COLUMNS).where(mine, _E.kind.in_(NOTICE_KINDS)).order_by(_E.occurred_at, _E.id)
    notices = [_event(tuple(row)) for row in (await session.execute(notices_stmt)).all()]
    more = start + len(events) < total
    return TimelinePage(
        events, notices, total, start, events[-1].id if events and more else None, previous_after
    )
