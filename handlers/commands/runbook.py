"""/runbook list | show NAME | run NAME <service> [--env E]."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.cloudrun.cmdline import ArgError, parse_args
from bot.cloudrun.targets import UnknownTarget, resolve
from bot.container import Container
from bot.slack.escape import escape
from handlers.commands.usage import ephemeral, usage_error
from runbooks import engine
from runbooks.loader import Library, load_library, split_dirs
from runbooks.render import render_list, render_show

USAGE = "`/runbook list` · `/runbook show NAME` · `/runbook run NAME <service> [--env E]`"
EXAMPLE = "/runbook run service-down checkout"


def library(c: Container) -> Library:
    """The runbooks as they are on disk now (built-in plus the team's own folder)."""
    named = c.settings.flare_runbooks_dir
    return load_library(c.catalog, c.settings.flare_config, split_dirs(named) if named else None)


def _known(lib: Library) -> str:
    return ", ".join(sorted(lib.runbooks)) or "none"


def register(bolt: AsyncApp, container: Container) -> None:
    """Register the /runbook command."""
    c = container

    @bolt.command("/runbook")
    async def runbook(ack: AsyncAck, command: dict[str, Any]) -> None:
        words = str(command.get("text") or "").split()
        sub = words[0].lower() if words else "list"
        lib = library(c)
        if sub in ("list", "help"):
            loaded = [lib.runbooks[name].runbook for name in sorted(lib.runbooks)]
            text, blocks = render_list(loaded, len(lib.problems))
            await ack(**ephemeral(text, blocks))
            return
        if sub == "show":
            found = lib.get(words[1]) if len(words) == 2 else None
            if found is None:
                problem = (
                    f"Unknown runbook (runbooks: {_known(lib)})." if len(words) == 2 else "Which runbook?"
                )
                await ack(**usage_error(problem, USAGE, "/runbook show service-down"))
                return
            text, blocks = render_show(found)
            await ack(**ephemeral(text, blocks))
            return
        if sub != "run":
            await ack(**usage_error(f"Unknown subcommand '{sub[:30]}'.", USAGE, EXAMPLE))
            return
        try:
            args = parse_args(" ".join(words[1:]), options=frozenset({"env"}), flags=frozenset())
            if len(args.positional) != 2:
                raise ArgError("give the runbook and the service")
            name, service = args.positional
            found = lib.get(name)
            if found is None:
                raise ArgError(f"unknown runbook '{name[:60]}' (runbooks: {_known(lib)})")
            target = resolve(c.catalog, service, args.option("env"))
            if not found.applies_to(target.service):
                raise ArgError(f"{found.name} is for {', '.join(found.services)}, not {target.service}")
        except (ArgError, UnknownTarget) as exc:
            await ack(**usage_error(str(exc), USAGE, EXAMPLE))
            return
        run_id = await engine.start(
            c,
            found,
            target,
            channel=str(command["channel_id"]),
            user=str(command["user_id"]),
            request_key=f"runbook:{command.get('trigger_id') or ''}",
        )
        if run_id is None:
            await ack(**ephemeral("That request was already received."))
            return
        await ack(
            **ephemeral(
                f":arrow_forward: Running *{escape(found.name)}* on {escape(target.label)} (run #{run_id}); "
                "each step's result is posted in this channel."
            )
        )
