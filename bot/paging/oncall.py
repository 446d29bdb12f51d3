"""`/incident oncall [team]`: who is on call now, from PagerDuty's REST API (`GET /oncalls`)."""

from __future__ import annotations

import asyncio

from bot.catalog import Catalog
from bot.paging.client import PagerDutyError, PagerDutyGateway
from bot.settings import environment
from bot.slack.escape import escape, safe

# Slack waits 3 s for the answer; leave room for the rest of the request.
LOOKUP_TIMEOUT = 2.0


async def on_call_text(catalog: Catalog, gateway: PagerDutyGateway, team: str) -> str:
    """Who is on call for `team`, or how to make the command work."""
    entry = catalog.teams[team]
    pd = entry.pagerduty
    if pd is None or not pd.api_token_env or not pd.escalation_policy:
        return (
            f"Flare cannot look up who is on call for {safe(team, 64)}: add `api_token_env` (a variable "
            "holding a read-only PagerDuty REST API key) and `escalation_policy` (its ID, like PABC123) "
            f"under `teams.{safe(team, 64)}.pagerduty` in the catalog."
        )
    token = environment().get(pd.api_token_env, "").strip()
    if not token:
        return (
            f"{pd.api_token_env} is not set on the Flare server, "
            f"so the on-call lookup for {safe(team, 64)} is off."
        )
    try:
        people = await gateway.oncalls(token, pd.escalation_policy, timeout=LOOKUP_TIMEOUT)
    except PagerDutyError as exc:
        return (
            f":warning: Could not ask PagerDuty who is on call for {safe(team, 64)}: "
            f"{escape(exc.reason)}. Try again, or look in PagerDuty."
        )
    if not people:
        return f"PagerDuty lists nobody on call for {safe(team, 64)} right now."
    lines = [f"*On call for {safe(team, 64)}* (PagerDuty):"]
    for person in people[:10]:
        where = f" — {safe(person.schedule, 100)}" if person.schedule else ""
        lines.append(f"• Level {person.level}: {safe(person.name, 100)}{where}")
    return "\n".join(lines)


async def modal_line(catalog: Catalog, gateway: PagerDutyGateway) -> str | None:
    """'On call now (PagerDuty): payments: Priya Patel · …' for the declare modal; None if nothing to show."""
    env = environment()
    lookups = {
        name: (team.pagerduty.escalation_policy, env.get(team.pagerduty.api_token_env, "").strip())
        for name, team in sorted(catalog.teams.items())
        if team.pagerduty and team.pagerduty.api_token_env and team.pagerduty.escalation_policy
    }
    wanted = {name: (policy, token) for name, (policy, token) in lookups.items() if token and policy}
    if not wanted:
        return None
    answers = await asyncio.gather(
        *(gateway.oncalls(token, policy, timeout=LOOKUP_TIMEOUT) for policy, token in wanted.values()),
        return_exceptions=True,
    )
    parts = []
    for name, answer in zip(wanted, answers, strict=True):
        if isinstance(answer, BaseException):
            parts.append(f"{safe(name, 64)}: _unknown (PagerDuty did not answer)_")
        elif answer:
            parts.append(f"{safe(name, 64)}: {safe(answer[0].name, 100)}")
        else:
            parts.append(f"{safe(name, 64)}: _nobody_")
    return ":pager: *On call now* (PagerDuty) — " + " · ".join(parts[:10])
