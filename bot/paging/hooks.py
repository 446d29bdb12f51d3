"""What incident changes mean for paging: called from the incident flows, inside their transaction."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.catalog import Catalog
from bot.container import Container
from bot.incidents.models import Incident
from bot.paging import queue, render
from bot.paging.models import Page

# session.info key set by the PagerDuty webhook sync: the change came from PagerDuty, don't echo it.
FROM_PAGERDUTY = "flare_from_pagerduty"


def _owning_team(catalog: Catalog, service: str | None) -> str | None:
    svc = catalog.service(service) if service else None
    return svc.team if svc else None


def _paging_in_use(catalog: Catalog) -> bool:
    return any(t.pagerduty is not None for t in catalog.teams.values())


def view(page: Page) -> render.PageView:
    """A page as the renderers need it."""
    return render.PageView(
        team=page.team,
        state=page.state,
        requested_by=page.requested_by,
        created_at=page.created_at,
        accepted_at=page.accepted_at,
        failed_at=page.failed_at,
        last_error=page.last_error,
        alerted=page.alerted_at is not None,
    )


async def _page_owner(c: Container, session: AsyncSession, incident: Incident, reason: str) -> str | None:
    """Page the owning team if it can be paged; the card's paging section."""
    team = _owning_team(c.catalog, incident.service)
    if team is None:
        return None
    if not queue.paging_configured(c.catalog, team):
        return render.not_configured(team) if _paging_in_use(c.catalog) else None
    page = await queue.create_page(
        session,
        incident,
        console_url=c.settings.console_url(f"incidents/{incident.human_id}"),
        team=team,
        owning=True,
        requested_by=incident.declared_by,
        reason=reason,
        message=None,
        now=c.clock.now(),
    )
    return render.line(view(page)) if page is not None else None


async def on_declared(c: Container, session: AsyncSession, incident: Incident) -> str | None:
    """Page the owning team when the severity pages on declare; the card's paging section."""
    if incident.severity not in c.catalog.paging.on_declare:
        return None
    return await _page_owner(c, session, incident, "declare")


async def on_severity_changed(c: Container, session: AsyncSession, incident: Incident, previous: str) -> None:
    """Raising to a paging severity pages the owning team (once per incident)."""
    policy = c.catalog.paging
    if (
        policy.on_severity_raise
        and incident.severity in policy.on_declare
        and previous not in policy.on_declare
    ):
        await _page_owner(c, session, incident, "severity")


async def on_status_changed(c: Container, session: AsyncSession, incident: Incident, action: str) -> None:
    """Flare's acknowledge and resolve reach PagerDuty (not when PagerDuty itself caused them)."""
    if session.info.get(FROM_PAGERDUTY):
        return
    if action in ("ack", "resolve"):
        pd_action = "acknowledge" if action == "ack" else "resolve"
        await queue.queue_follow_up(session, incident.id, pd_action, c.clock.now())


async def card_section(c: Container, session: AsyncSession, incident: Incident) -> str | None:
    """The card's paging section for an incident as it is now."""
    pages = await queue.pages_of(session, incident.id)
    unconfigured = None
    team = _owning_team(c.catalog, incident.service)
    if (
        team is not None
        and incident.severity in c.catalog.paging.on_declare
        and not queue.paging_configured(c.catalog, team)
        and _paging_in_use(c.catalog)
    ):
        unconfigured = team
    return render.card_section([view(p) for p in pages], unconfigured)
