"""`/incident page <team>`: page another team with the incident's context, or list who was paged."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.container import Container
from bot.incidents import flows
from bot.incidents.lifecycle import require_open
from bot.incidents.models import Incident
from bot.incidents.timeline import record_event
from bot.paging import hooks, queue, render
from bot.paging.models import Page

MESSAGE_LIMIT = 500


@dataclass(frozen=True)
class PageResult:
    """What happened, in words for the person who asked."""

    ok: bool
    text: str


async def page_team(
    c: Container, session: AsyncSession, incident: Incident, team: str, message: str | None, actor: str
) -> PageResult:
    """Queue a page of `team` for `incident` (a failed earlier page of that team is retried)."""
    require_open(incident.human_id, incident.status, "page a team")
    if not queue.paging_configured(c.catalog, team):
        return PageResult(
            False,
            f"Paging is not configured for team {team}: add `pagerduty: {{routing_key_env: ...}}` to the "
            "team in the catalog (see README, 'Paging the on-call (PagerDuty)').",
        )
    now = c.clock.now()
    message = " ".join(message.split())[:MESSAGE_LIMIT] if message else None
    owning = _owner(c, incident) == team
    existing = (
        await session.execute(select(Page).where(Page.incident_id == incident.id, Page.team == team))
    ).scalar_one_or_none()
    if existing is not None and existing.state != "failed":
        when = existing.accepted_at or existing.created_at
        return PageResult(
            True,
            f"{team} on-call was already paged for {incident.human_id} "
            f"({render.line(hooks.view(existing))}); "
            f"PagerDuty keeps one incident per page, so it was not paged again (first at {when:%H:%M} UTC).",
        )
    if existing is not None:
        existing.state, existing.failed_at, existing.alerted_at = "pending", None, None
        existing.requested_by, existing.message, existing.created_at = actor[:32], message, now
        existing.reason = "manual"
        await session.flush()
        await queue.queue_trigger(
            session,
            existing,
            incident,
            now=now,
            console_url=c.settings.console_url(f"incidents/{incident.human_id}"),
        )
    else:
        await queue.create_page(
            session,
            incident,
            console_url=c.settings.console_url(f"incidents/{incident.human_id}"),
            team=team,
            owning=owning,
            requested_by=actor,
            reason="manual",
            message=message,
            now=now,
        )
    await record_event(
        session,
        incident.id,
        kind="page_requested",
        text=f"Paging {team} on-call" + (f": {message}" if message else ""),
        actor=actor,
        occurred_at=now,
        data={"team": team, "message": message},
    )
    await flows.refresh(c, session, incident)
    return PageResult(
        True,
        f"Paging {team} on-call via PagerDuty for {incident.human_id}; "
        "the channel will say when it is accepted.",
    )


def _owner(c: Container, incident: Incident) -> str | None:
    svc = c.catalog.service(incident.service) if incident.service else None
    return svc.team if svc else None


async def listing(session: AsyncSession, incident: Incident) -> str:
    """Who was paged for the incident, and when."""
    pages = await queue.pages_of(session, incident.id)
    return render.listing([hooks.view(p) for p in pages], incident.human_id)
