"""/health <service> [--env E]: deep health of a service, from the catalog's checks only."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.cloudrun.cmdline import ArgError, parse_args
from bot.cloudrun.targets import UnknownTarget, resolve
from bot.container import Container
from bot.rollback import jobs
from bot.slack.escape import escape
from handlers.commands.usage import ephemeral, usage_error

USAGE = "`/health <service> [--env E]`"
EXAMPLE = "/health checkout"


def register(bolt: AsyncApp, container: Container) -> None:
    """Register the /health command."""
    c = container

    @bolt.command("/health")
    async def health(ack: AsyncAck, command: dict[str, Any]) -> None:
        text = str(command.get("text") or "").strip()
        try:
            args = parse_args(text, options=frozenset({"env"}), flags=frozenset())
            if len(args.positional) != 1:
                raise ArgError("give exactly one service from the catalog")
            target = resolve(c.catalog, args.positional[0], args.option("env"))
        except (ArgError, UnknownTarget) as exc:
            await ack(**usage_error(str(exc), USAGE, EXAMPLE))
            return
        channel, user = str(command["channel_id"]), str(command["user_id"])
        await ack(**ephemeral(f":stethoscope: Checking {escape(target.label)}…"))
        c.spawn(
            jobs.answering(c, channel, user, lambda: jobs.post_health(c, target, channel, user)),
            name="health",
        )
