"""Who may confirm a change: the catalog's rbac, with user group membership looked up in Slack."""

from __future__ import annotations

import asyncio

from bot.catalog.rbac import AccessDecision, decide, decide_with_groups
from bot.container import Container
from bot.slack.escape import escape, user_mention
from bot.slack.gateway import SlackCallError


async def group_members(c: Container, groups: tuple[str, ...]) -> tuple[dict[str, list[str]], list[str]]:
    """Members of each user group (usergroups.users.list), and the groups we could not read."""

    async def one(group: str) -> tuple[str, list[str] | None]:
        try:
            body = await c.slack.call("usergroups.users.list", {"usergroup": group})
        except SlackCallError:
            return group, None
        return group, [str(u) for u in body.get("users") or []]

    members: dict[str, list[str]] = {}
    failed: list[str] = []
    for group, users in await asyncio.gather(*(one(g) for g in groups)):
        if users is None:
            failed.append(group)
        else:
            members[group] = users
    return members, failed


async def check_access(c: Container, env: str, user: str) -> AccessDecision:
    """The full decision, asking Slack about user groups only when the catalog alone cannot tell."""
    decision = decide(c.catalog.rbac, env, user)
    if decision.verdict != "ask_groups":
        return decision
    members, failed = await group_members(c, decision.groups)
    final = decide_with_groups(decision, user, members, env)
    if final.verdict == "denied" and failed:
        return AccessDecision(
            "denied", reason=f"{final.reason} (could not read user group {', '.join(failed)} from Slack)"
        )
    return final


def who_may(c: Container, env: str) -> str:
    """'<@U1>, <@U2> or members of S0ONCALL' for refusal messages."""
    access = c.catalog.rbac.get(env)
    if access is None:
        return "nobody (add an rbac entry to the catalog)"
    if access.open:
        return "anyone"
    parts = [user_mention(u) for u in access.users]
    if access.user_groups:
        parts.append("members of " + ", ".join(escape(g) for g in access.user_groups))
    return ", ".join(parts)
