"""`@Flare` in a channel: tell the person who asked what Flare can do (only they see the answer).

The answer goes through the outbox like every other Slack call, once per `event_id` (Slack
retries events up to 3 times).
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.container import Container
from bot.db.dedup import first_delivery
from bot.slack.outbox import Outbound, enqueue, lane_for

# (command, what it does, an example); a test checks every registered command is listed.
COMMANDS: tuple[tuple[str, str, str], ...] = (
    (
        "/incident",
        "declare and run incidents (channel, roles, timeline, post-mortem)",
        "/incident declare P1 checkout is failing",
    ),
    ("/deploy", "what is serving on Cloud Run, deploy history and delivery stats", "/deploy status checkout"),
    ("/rollback", "roll a Cloud Run service back, with confirmation and verification", "/rollback checkout"),
    ("/health", "deep health of a service and its dependencies", "/health checkout"),
    ("/runbook", "run a runbook step by step", "/runbook list"),
)


def help_text() -> str:
    """The answer to a mention: one line per command, with an example."""
    lines = ["Hi! I'm Flare, the incident bot. What I can do:"]
    lines.extend(f"• `{command}` — {what} (e.g. `{example}`)" for command, what, example in COMMANDS)
    lines.append("Add `help` to any command for the details, e.g. `/incident help`.")
    return "\n".join(lines)


def answer(event: dict[str, Any]) -> Outbound | None:
    """The ephemeral help for a mention, or None for mentions Flare should not answer."""
    user, channel = event.get("user"), event.get("channel")
    if (
        event.get("bot_id")
        or event.get("subtype")
        or not isinstance(user, str)
        or not isinstance(channel, str)
    ):
        return None  # bots (Flare included) and edited messages get no answer
    payload: dict[str, Any] = {"channel": channel, "user": user, "text": help_text()}
    thread = event.get("thread_ts")
    if isinstance(thread, str) and thread:
        payload["thread_ts"] = thread
    return Outbound(lane_for(channel), "chat.postEphemeral", payload)


def register(bolt: AsyncApp, container: Container) -> None:
    """Register the app_mention listener."""

    @bolt.event("app_mention")
    async def app_mention(body: dict[str, Any], event: dict[str, Any]) -> None:
        reply = answer(event)
        if reply is None:
            return
        event_id = body.get("event_id")
        async with container.transaction() as session:
            if event_id and not await first_delivery(session, f"event:{event_id}"):
                return
            await enqueue(session, reply)
