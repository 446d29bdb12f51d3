"""/rollback <service> [--to REVISION | --steps N] [--env E] [--dry-run] [--list] [--force]."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.cloudrun.cmdline import ArgError, parse_args
from bot.cloudrun.targets import UnknownTarget, resolve
from bot.container import Container
from bot.rollback import jobs
from bot.rollback.plan import Request
from bot.slack.escape import escape
from handlers.commands.changes import start_change
from handlers.commands.usage import ephemeral, usage_error

USAGE = "`/rollback <service> [--to REVISION | --steps N] [--env E] [--dry-run] [--list] [--force]`"
EXAMPLE = "/rollback checkout --steps 1"
HELP = "\n".join(
    [
        "*/rollback* — move all traffic of a Cloud Run service back to an older revision",
        f"• {USAGE}",
        "• default target: the newest Ready revision older than the one serving",
        "• `--list` lists the revisions; `--dry-run` shows the plan only",
        "• Flare posts the plan with Confirm/Cancel; only people allowed by the catalog's rbac can confirm",
        "• `--force` overrides the guards (target not Ready, already serving, rolled away from lately)",
    ]
)


def parse_request(text: str) -> tuple[str, str | None, Request, set[str]]:
    """(service, env, request, flags) from the command text."""
    args = parse_args(
        text, options=frozenset({"env", "to", "steps"}), flags=frozenset({"dry-run", "list", "force"})
    )
    if not args.positional:
        raise ArgError("which service?")
    if len(args.positional) > 1:
        raise ArgError(f"unexpected '{args.positional[1][:40]}' (give the revision with --to)")
    to, steps = args.option("to"), args.option("steps")
    if to and steps:
        raise ArgError("give --to or --steps, not both")
    if steps is not None and (not steps.isdigit() or not 1 <= int(steps) <= 100):
        raise ArgError(f"--steps needs a number from 1 to 100, got '{steps[:10]}'")
    force = "force" in args.flags
    if to:
        request = Request(mode="to", to=to, force=force)
    elif steps:
        request = Request(mode="steps", steps=int(steps), force=force)
    else:
        request = Request(force=force)
    return args.positional[0], args.option("env"), request, args.flags


def register(bolt: AsyncApp, container: Container) -> None:
    """Register the /rollback command."""
    c = container

    @bolt.command("/rollback")
    async def rollback(ack: AsyncAck, command: dict[str, Any]) -> None:
        text = str(command.get("text") or "").strip()
        if not text or text.lower() == "help":
            await ack(**ephemeral(HELP))
            return
        try:
            service, env, request, flags = parse_request(text)
            target = resolve(c.catalog, service, env)
        except (ArgError, UnknownTarget) as exc:
            await ack(**usage_error(str(exc), USAGE, EXAMPLE))
            return
        channel, user = str(command["channel_id"]), str(command["user_id"])
        if "list" in flags:
            await ack(
                **ephemeral(f":hourglass_flowing_sand: Listing the revisions of {escape(target.label)}…")
            )
            c.spawn(
                jobs.answering(c, channel, user, lambda: jobs.post_revision_list(c, target, channel, user)),
                name="rollback-list",
            )
            return
        await start_change(
            c, ack, command, kind="rollback", target=target, request=request, dry_run="dry-run" in flags
        )
