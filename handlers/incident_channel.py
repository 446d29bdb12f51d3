"""`/incident channel retry` and the announcement's *Retry channel* button.

Both try to create an incident channel Slack refused earlier (restricted_action, invalid_name, a
workspace at its limit), under a plainer name when the name was the problem. A new refusal reaches the
person who retried, privately, with Slack's reason.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.container import Container
from bot.incidents import queries
from bot.incidents.delivery import retry_channel
from bot.incidents.flows import ephemeral_notice
from bot.incidents.lifecycle import IncidentError
from bot.incidents.naming import looks_like_human_id, parse_human_id
from bot.slack.escape import escape
from bot.slack.outbox import caused_by, enqueue
from handlers.commands.invocation import Invocation
from handlers.commands.usage import ephemeral, usage_error

USAGE = "/incident channel retry [INC-<number>]"
EXAMPLE = "/incident channel retry INC-18"


def _started(human_id: str, name: str) -> str:
    return (
        f":hammer_and_wrench: Creating the channel of {human_id} again as #{escape(name)}; responders are "
        "invited and the announcements get its link once Slack agrees. If Slack refuses again, "
        "you are told why."
    )


async def subcommand(c: Container, inv: Invocation) -> dict[str, Any]:
    """`/incident channel retry [INC-n]`."""
    args = list(inv.args)
    incident_id = inv.incident_id
    if args and looks_like_human_id(args[-1]):
        incident_id = parse_human_id(args.pop())
    if args != ["retry"]:
        return usage_error("The only `channel` action is `retry`.", USAGE, EXAMPLE)
    if incident_id is None:
        return usage_error("Say which incident's channel to create.", USAGE, EXAMPLE)
    async with c.transaction() as session:
        incident = await queries.load(session, incident_id, for_update=True)
        if incident is None:
            raise IncidentError(f"INC-{incident_id} does not exist; `/incident list` shows the open ones.")
        name = await retry_channel(c, session, incident, inv.user)
    return ephemeral(_started(incident.human_id, name))


def register(bolt: AsyncApp, container: Container) -> None:
    """Register the *Retry channel* button."""

    @bolt.action("incident_channel_retry")
    async def retry_button(ack: AsyncAck, body: dict[str, Any]) -> None:
        action = (body.get("actions") or [{}])[0]
        value = str(action.get("value") or "")
        user = str(body["user"]["id"])
        channel = str((body.get("channel") or {}).get("id") or "")
        try:
            with caused_by(user, body.get("response_url")):
                async with container.transaction() as session:
                    incident = await queries.load(
                        session, int(value) if value.isdigit() else 0, for_update=True
                    )
                    if incident is None:
                        raise IncidentError("That incident no longer exists.")
                    name = await retry_channel(container, session, incident, user)
                    told = _started(incident.human_id, name)
        except IncidentError as exc:
            told = f":warning: {exc.message}"
        await ack()
        if channel:
            async with container.transaction() as session:
                await enqueue(session, ephemeral_notice(channel, user, told))
