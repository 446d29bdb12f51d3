"""The `paging` probe of /health/deep: pages that did not go out are impossible to miss."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, or_, select

from bot.container import Container
from bot.health.checks import Outcome
from bot.incidents.models import Incident
from bot.paging.models import Page, PageEvent

WINDOW = timedelta(hours=24)


async def paging_outcome(c: Container) -> Outcome:
    """Degraded while a page of an open incident (last 24 h) failed or is late."""
    if not any(t.pagerduty is not None for t in c.catalog.teams.values()):
        return Outcome("healthy", "no team has pagerduty configured")
    now = c.clock.now()
    async with c.db.sessions() as session:
        bad = (
            await session.execute(
                select(Page.team, Page.incident_id, Page.state, Page.last_error)
                .join(Incident, Incident.id == Page.incident_id)
                .where(
                    Page.created_at > now - WINDOW,
                    Incident.status != "resolved",
                    or_(Page.state == "failed", (Page.state == "pending") & Page.alerted_at.is_not(None)),
                )
                .order_by(Page.id)
                .limit(20)
            )
        ).all()
        pending, oldest = (
            await session.execute(
                select(func.count(), func.min(PageEvent.created_at)).where(PageEvent.status == "pending")
            )
        ).one()
    data = {
        "pending_events": int(pending),
        "oldest_pending_age_s": round((now - oldest).total_seconds(), 1) if oldest else 0.0,
        "undelivered": [
            {"incident": f"INC-{r.incident_id}", "team": r.team, "state": r.state, "error": r.last_error}
            for r in bad
        ],
    }
    if bad:
        first = bad[0]
        detail = f"page to {first.team} for INC-{first.incident_id} not delivered: {first.last_error}"
        return Outcome(
            "degraded", detail if len(bad) == 1 else f"{len(bad)} pages not delivered; {detail}", data
        )
    return Outcome("healthy", "", data)
