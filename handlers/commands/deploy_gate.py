"""`/deploy gate status [service] [--env E]` and `/deploy gate override <service> <reason> [--minutes N]`."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck

from bot.catalog.rbac import AccessDecision, decide
from bot.cloudrun.cmdline import ArgError, parse_args
from bot.cloudrun.targets import DEFAULT_ENV, UnknownTarget, resolve
from bot.container import Container
from bot.gate.overrides import OverrideResult, override
from bot.gate.render import render_status
from bot.gate.service import evaluate
from bot.rollback.access import check_access
from bot.rollback.record import ephemeral as outbox_ephemeral
from bot.slack.outbox import enqueue
from handlers.commands.usage import ephemeral, usage_error

USAGE = (
    "`/deploy gate status [service] [--env E]` or "
    "`/deploy gate override <service> <reason> [--env E] [--minutes N]`"
)
EXAMPLE = "/deploy gate override checkout hotfix for INC-42 --minutes 20"


async def gate(c: Container, ack: AsyncAck, command: dict[str, Any], rest: str) -> None:
    """/deploy gate status|override ..."""
    action, _, rest = rest.strip().partition(" ")
    if action.lower() == "status":
        await _status(c, ack, rest)
    elif action.lower() == "override":
        await _override(c, ack, command, rest)
    else:
        await ack(**usage_error(f"Unknown gate action '{action[:30]}'.", USAGE, EXAMPLE))


async def _status(c: Container, ack: AsyncAck, rest: str) -> None:
    try:
        args = parse_args(rest, options=frozenset({"env"}), flags=frozenset())
        if len(args.positional) > 1:
            raise ArgError("give at most one service")
        env = (args.option("env") or DEFAULT_ENV).lower()
        services = (
            [resolve(c.catalog, args.positional[0], env).service]
            if args.positional
            else [s.name for s in c.catalog.services if env in s.environments]
        )
    except (ArgError, UnknownTarget) as exc:
        await ack(**usage_error(str(exc), USAGE, "/deploy gate status checkout"))
        return
    async with c.db.sessions() as session:
        states = [await evaluate(session, c.catalog, s, env, c.clock.now()) for s in services]
    text, blocks = render_status(env, states, c.catalog.incidents.slack_workspace_url)
    await ack(**ephemeral(text, blocks))


async def _override(c: Container, ack: AsyncAck, command: dict[str, Any], rest: str) -> None:
    policy = c.catalog.deploys.gate
    try:
        args = parse_args(rest, options=frozenset({"env", "minutes"}), flags=frozenset())
        if len(args.positional) < 2:
            raise ArgError("give the service and a reason")
        target = resolve(c.catalog, args.positional[0], args.option("env"))
        reason = " ".join(args.positional[1:])[:500]
        minutes = _minutes(args.option("minutes"), policy.override_minutes, policy.max_override_minutes)
    except (ArgError, UnknownTarget) as exc:
        await ack(**usage_error(str(exc), USAGE, EXAMPLE))
        return
    user, channel = str(command["user_id"]), str(command["channel_id"])
    decision = decide(c.catalog.rbac, target.env, user)

    async def run(access: AccessDecision) -> OverrideResult:
        return await override(
            c,
            service=target.service,
            env=target.env,
            reason=reason,
            minutes=minutes,
            user=user,
            access=access,
        )

    if decision.verdict != "ask_groups":
        await ack(**ephemeral((await run(decision)).text))
        return
    await ack(**ephemeral(":hourglass_flowing_sand: Checking who may open the gate…"))

    async def later() -> None:
        result = await run(await check_access(c, target.env, user))
        async with c.transaction() as session:
            await enqueue(session, outbox_ephemeral(channel, user, result.text))

    c.spawn(later(), name=f"gate-override:{target.service}")


def _minutes(value: str | None, default: int, maximum: int) -> int:
    if value is None:
        return default
    if not value.isdigit() or not 1 <= int(value) <= maximum:
        raise ArgError(f"--minutes needs a number from 1 to {maximum}, got '{value[:10]}'")
    return int(value)
