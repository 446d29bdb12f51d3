"""Writing pages and their PagerDuty events, inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.catalog import Catalog
from bot.db.upsert import table_of
from bot.incidents.models import Incident
from bot.paging import events
from bot.paging.models import Page, PageEvent

WAKE_KEY = "paging"


def mark_dirty(session: AsyncSession) -> None:
    """Ask the container to wake the page worker once this transaction commits."""
    session.info.setdefault("flare_wake", set()).add(WAKE_KEY)


def paging_configured(catalog: Catalog, team: str) -> bool:
    """True when `team` has a PagerDuty routing key configured in the catalog."""
    entry = catalog.teams.get(team)
    return entry is not None and entry.pagerduty is not None


async def pages_of(session: AsyncSession, incident_id: int) -> Sequence[Page]:
    """The incident's pages, oldest first."""
    rows = await session.execute(select(Page).where(Page.incident_id == incident_id).order_by(Page.id))
    return rows.scalars().all()


async def create_page(
    session: AsyncSession,
    incident: Incident,
    *,
    team: str,
    owning: bool,
    requested_by: str,
    reason: str,
    message: str | None,
    now: datetime,
    console_url: str | None = None,
) -> Page | None:
    """Store a page of `team` and queue its trigger; None if this team was already paged for it."""
    values: dict[str, Any] = {
        "incident_id": incident.id,
        "team": team,
        "dedup_key": events.dedup_key(incident.id, None if owning else team),
        "requested_by": requested_by[:32],
        "reason": reason,
        "message": message,
        "state": "pending",
        "created_at": now,
    }
    table = table_of(Page)
    upsert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    # One round trip: insert unless this team was paged for the incident before (or concurrently).
    stmt = upsert(table).on_conflict_do_nothing().returning(table.c.id)
    page_id = (await session.execute(stmt, values)).scalar_one_or_none()
    if page_id is None:
        return None
    page = Page(id=page_id, **values)  # a detached copy of what was stored
    await queue_trigger(session, page, incident, now=now, console_url=console_url)
    return page


async def queue_trigger(
    session: AsyncSession, page: Page, incident: Incident, *, now: datetime, console_url: str | None = None
) -> None:
    """Queue (again) the trigger event of `page` from the incident as it is now."""
    body = events.trigger(
        key=page.dedup_key,
        severity=incident.severity,
        human_id=incident.human_id,
        title=incident.title,
        service=incident.service,
        commander=incident.commander,
        declarer=incident.declared_by,
        description=incident.description,
        channel_url=None,  # added when sending, once the channel exists
        paged_by=page.requested_by,
        message=page.message,
        when=now,
        console_url=console_url,
    )
    await session.execute(
        insert(table_of(PageEvent)),
        {
            "page_id": page.id,
            "action": "trigger",
            "body": body,
            "status": "pending",
            "attempts": 0,
            "not_before": now,
            "created_at": now,
        },
    )
    mark_dirty(session)


async def queue_follow_up(session: AsyncSession, incident_id: int, action: str, now: datetime) -> int:
    """Queue acknowledge/resolve for every page of the incident that PagerDuty may hold; how many."""
    count = 0
    for page in await pages_of(session, incident_id):
        if page.state == "failed":
            continue
        session.add(
            PageEvent(
                page_id=page.id,
                action=action,
                body=events.follow_up(action, page.dedup_key),
                status="pending",
                attempts=0,
                not_before=now,
                created_at=now,
            )
        )
        count += 1
    if count:
        await session.flush()
        mark_dirty(session)
    return count
