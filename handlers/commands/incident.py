"""/incident: declare and run incidents."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.container import Container
from handlers.commands.usage import ephemeral, usage_error

HELP = "\n".join(
    [
        "*/incident* — declare and run incidents",
        "• `/incident help` — this message",
    ]
)


def register(bolt: AsyncApp, container: Container) -> None:
    """Register the /incident command."""

    @bolt.command("/incident")
    async def incident(ack: AsyncAck, command: dict[str, Any]) -> None:
        words = str(command.get("text") or "").split()
        sub = words[0].lower() if words else "help"
        if sub == "help":
            await ack(**ephemeral(HELP))
            return
        await ack(**usage_error(f"Unknown subcommand '{sub}'.", "/incident help", "/incident help"))
