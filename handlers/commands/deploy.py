"""/deploy: what is deployed on Cloud Run, and canary traffic splits.

Subcommands live in a table so later features (history, stats) add a row, not a branch.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.cloudrun.cmdline import ArgError, parse_args
from bot.cloudrun.targets import DEFAULT_ENV, UnknownTarget, resolve
from bot.container import Container
from bot.deploys import history as deploy_history
from bot.deploys import report
from bot.deploys import stats as deploy_stats
from bot.rollback import jobs
from bot.rollback.plan import Request
from bot.slack.escape import escape
from handlers.commands.changes import start_change
from handlers.commands.deploy_gate import EXAMPLE as GATE_EXAMPLE
from handlers.commands.deploy_gate import gate
from handlers.commands.usage import ephemeral, usage_error

Run = Callable[[Container, AsyncAck, dict[str, Any], str], Awaitable[None]]


@dataclass(frozen=True)
class Subcommand:
    """One `/deploy <name>`: how to use it, an example, and what runs it."""

    name: str
    usage: str
    example: str
    summary: str
    run: Run


async def status(c: Container, ack: AsyncAck, command: dict[str, Any], rest: str) -> None:
    """/deploy status [service] [--env E] [--all]."""
    sub = SUBCOMMANDS["status"]
    try:
        args = parse_args(rest, options=frozenset({"env"}), flags=frozenset({"all"}))
        if len(args.positional) > 1:
            raise ArgError("give at most one service")
        target = resolve(c.catalog, args.positional[0], args.option("env")) if args.positional else None
    except (ArgError, UnknownTarget) as exc:
        await ack(**usage_error(str(exc), sub.usage, sub.example))
        return
    channel, user = str(command["channel_id"]), str(command["user_id"])
    if target is None:
        env = (args.option("env") or DEFAULT_ENV).lower()
        await ack(
            **ephemeral(f":hourglass_flowing_sand: Reading every service in {escape(env)} from Cloud Run…")
        )
        c.spawn(
            jobs.answering(c, channel, user, lambda: jobs.post_overview(c, env, channel)),
            name="deploy-status",
        )
        return
    await ack(**ephemeral(f":hourglass_flowing_sand: Reading {escape(target.label)} from Cloud Run…"))
    show_all = "all" in args.flags
    c.spawn(
        jobs.answering(c, channel, user, lambda: jobs.post_status(c, target, channel, show_all=show_all)),
        name="deploy-status",
    )


def parse_splits(words: list[str]) -> dict[str, int]:
    """REV=10 OTHER=90 -> {REV: 10, OTHER: 90}, explaining what is wrong otherwise."""
    if not words:
        raise ArgError("give the split as REVISION=PERCENT pairs")
    splits: dict[str, int] = {}
    for word in words:
        name, sep, value = word.partition("=")
        if not sep or not name or not value:
            raise ArgError(f"'{word[:60]}' is not REVISION=PERCENT")
        percent_text = value.rstrip("%")
        if not percent_text.isdigit() or not 0 <= int(percent_text) <= 100:
            raise ArgError(f"'{value[:20]}' is not a percentage from 0 to 100")
        if name in splits:
            raise ArgError(f"{name[:60]} is given twice")
        splits[name] = int(percent_text)
    total = sum(splits.values())
    if total != 100:
        raise ArgError(f"the percentages add up to {total}, not 100; Cloud Run needs exactly 100")
    return splits


async def traffic(c: Container, ack: AsyncAck, command: dict[str, Any], rest: str) -> None:
    """/deploy traffic <service> REV=10 OTHER=90 [--env E] [--force] [--dry-run]."""
    sub = SUBCOMMANDS["traffic"]
    try:
        args = parse_args(rest, options=frozenset({"env"}), flags=frozenset({"force", "dry-run"}))
        if not args.positional:
            raise ArgError("which service?")
        target = resolve(c.catalog, args.positional[0], args.option("env"))
        splits = parse_splits(args.positional[1:])
    except (ArgError, UnknownTarget) as exc:
        await ack(**usage_error(str(exc), sub.usage, sub.example))
        return
    request = Request(mode="split", splits=splits, force="force" in args.flags)
    await start_change(
        c, ack, command, kind="traffic", target=target, request=request, dry_run="dry-run" in args.flags
    )


HISTORY_LIMIT = 10
MAX_LIMIT = 50
MAX_DAYS = 365


async def history(c: Container, ack: AsyncAck, command: dict[str, Any], rest: str) -> None:
    """/deploy history <service> [--env E] [--limit N]."""
    sub = SUBCOMMANDS["history"]
    try:
        args = parse_args(rest, options=frozenset({"env", "limit"}), flags=frozenset())
        if len(args.positional) != 1:
            raise ArgError("give one service" if not args.positional else "give only one service")
        service = _service(c, args.positional[0])
        env = resolve(c.catalog, service, args.option("env")).env if args.option("env") else None
        limit = _number(args.option("limit"), "--limit", HISTORY_LIMIT, MAX_LIMIT)
    except (ArgError, UnknownTarget) as exc:
        await ack(**usage_error(str(exc), sub.usage, sub.example))
        return
    async with c.db.sessions() as session:
        found = await deploy_history.history(session, service, env, limit)
    text, blocks = report.render_history(service, env, found.entries, found.total)
    await ack(**ephemeral(text, blocks))


async def stats(c: Container, ack: AsyncAck, command: dict[str, Any], rest: str) -> None:
    """/deploy stats [service] [--days N]."""
    sub = SUBCOMMANDS["stats"]
    try:
        args = parse_args(rest, options=frozenset({"days"}), flags=frozenset())
        if len(args.positional) > 1:
            raise ArgError("give at most one service")
        service = _service(c, args.positional[0]) if args.positional else None
        days = _number(args.option("days"), "--days", deploy_stats.DEFAULT_DAYS, MAX_DAYS)
    except (ArgError, UnknownTarget) as exc:
        await ack(**usage_error(str(exc), sub.usage, sub.example))
        return
    async with c.db.sessions() as session:
        rows = await deploy_stats.delivery_stats(session, c.catalog, c.clock.now(), days, service)
    text, blocks = report.render_stats(rows, days, service)
    await ack(**ephemeral(text, blocks))


def _service(c: Container, name: str) -> str:
    svc = c.catalog.service(name.lower())
    if svc is None:
        resolve(c.catalog, name)  # raises UnknownTarget listing the known services
        raise ArgError(f"unknown service '{name[:60]}'")
    return svc.name


def _number(value: str | None, name: str, default: int, maximum: int) -> int:
    if value is None:
        return default
    if not value.isdigit() or not 1 <= int(value) <= maximum:
        raise ArgError(f"{name} needs a number from 1 to {maximum}, got '{value[:10]}'")
    return int(value)


SUBCOMMANDS: dict[str, Subcommand] = {
    "status": Subcommand(
        "status",
        "`/deploy status [service] [--env E] [--all]`",
        "/deploy status checkout",
        "revisions, traffic, images, ages and deployers (no service: one line per service)",
        status,
    ),
    "traffic": Subcommand(
        "traffic",
        "`/deploy traffic <service> REVISION=PERCENT ... [--env E] [--force] [--dry-run]`",
        "/deploy traffic checkout checkout-00042-abc=10 checkout-00041-xyz=90",
        "a canary split, with the same confirmation, permissions and lock as /rollback",
        traffic,
    ),
    "history": Subcommand(
        "history",
        "`/deploy history <service> [--env E] [--limit N]`",
        "/deploy history checkout --env production --limit 20",
        "deploys, traffic changes and rollbacks, newest first (every environment unless --env)",
        history,
    ),
    "stats": Subcommand(
        "stats",
        "`/deploy stats [service] [--days N]`",
        "/deploy stats checkout --days 30",
        "deploy frequency, change failure rate, rollback rate and time to restore (default 30 days)",
        stats,
    ),
    "gate": Subcommand(
        "gate",
        "`/deploy gate status [service]` · `/deploy gate override <service> <reason> [--minutes N]`",
        GATE_EXAMPLE,
        "what blocks deploys (open P0/P1 incidents) and opening the gate on purpose, on the record",
        gate,
    ),
}


def help_text() -> str:
    """The /deploy help, one line per subcommand."""
    lines = ["*/deploy* — Cloud Run deployments"]
    lines.extend(f"• {s.usage} — {s.summary}" for s in SUBCOMMANDS.values())
    return "\n".join(lines)


def register(bolt: AsyncApp, container: Container) -> None:
    """Register the /deploy command."""

    @bolt.command("/deploy")
    async def deploy(ack: AsyncAck, command: dict[str, Any]) -> None:
        name, _, rest = str(command.get("text") or "").strip().partition(" ")
        name = name.lower() or "help"
        if name == "help":
            await ack(**ephemeral(help_text()))
            return
        sub = SUBCOMMANDS.get(name)
        if sub is None:
            known = ", ".join(SUBCOMMANDS)
            await ack(
                **usage_error(
                    f"Unknown subcommand '{name[:30]}' (known: {known}).",
                    "/deploy help",
                    "/deploy status checkout",
                )
            )
            return
        await sub.run(container, ack, command, rest)
