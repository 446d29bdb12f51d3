"""`/incident page <team> [message]`, `/incident page` and `/incident oncall [team]`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.container import Container
from bot.incidents import queries
from bot.incidents.lifecycle import IncidentError
from bot.incidents.models import Incident
from bot.paging import manual, oncall, service
from bot.slack.escape import escape
from handlers.commands.invocation import Invocation
from handlers.commands.usage import ephemeral, usage_error

PAGE_USAGE = "/incident page <team> [message]"
ONCALL_USAGE = "/incident oncall [team]"


def _teams(c: Container) -> str:
    return ", ".join(sorted(c.catalog.teams)) or "none in the catalog"


async def _incident(session: AsyncSession, inv: Invocation, *, for_update: bool) -> Incident | None:
    if inv.incident_id is not None:
        found = await queries.load(session, inv.incident_id, for_update=for_update)
        if found is None:
            raise IncidentError(
                f"INC-{inv.incident_id} does not exist; `/incident list` shows the open ones."
            )
        return found
    return await queries.by_channel(session, inv.channel, for_update=for_update)


async def cmd_page(c: Container, inv: Invocation) -> dict[str, Any]:
    """`/incident page <team> [message]` pages a team; `/incident page` lists who was paged."""
    example = f"/incident page {next(iter(sorted(c.catalog.teams)), 'payments')} checkout DB is down"
    if inv.args and inv.args[0] not in c.catalog.teams:
        return usage_error(f"Unknown team '{inv.args[0]}' (teams: {_teams(c)}).", PAGE_USAGE, example)
    async with c.transaction() as session:
        incident = await _incident(session, inv, for_update=bool(inv.args))
        if incident is None:
            return usage_error(
                "Run this in an incident channel, or give the incident first (`/incident INC-42 page …`).",
                PAGE_USAGE,
                example,
            )
        if not inv.args:
            return ephemeral(await manual.listing(session, incident))
        team = inv.args[0]
        message = inv.rest[len(team) :].strip() or None
        result = await manual.page_team(c, session, incident, team, message, inv.user)
    return ephemeral(result.text if result.ok else f":warning: {escape(result.text)}")


async def cmd_oncall(c: Container, inv: Invocation) -> dict[str, Any]:
    """`/incident oncall [team]`: who is on call now (the incident's team by default)."""
    example = f"/incident oncall {next(iter(sorted(c.catalog.teams)), 'payments')}"
    team = inv.args[0] if inv.args else None
    if team is None:
        async with c.db.sessions() as session:
            incident = await _incident(session, inv, for_update=False)
        svc = c.catalog.service(incident.service) if incident and incident.service else None
        team = svc.team if svc else None
        if team is None:
            return usage_error(f"Name a team (teams: {_teams(c)}).", ONCALL_USAGE, example)
    if team not in c.catalog.teams:
        return usage_error(f"Unknown team '{team}' (teams: {_teams(c)}).", ONCALL_USAGE, example)
    return ephemeral(await oncall.on_call_text(c.catalog, service.gateway(c), team))


def oncall_line(c: Container) -> Callable[[], Awaitable[str | None]]:
    """The declare modal's on-call lookup (teams with an API token and escalation policy)."""

    async def lookup() -> str | None:
        return await oncall.modal_line(c.catalog, service.gateway(c))

    return lookup
