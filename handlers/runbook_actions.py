"""Runbook buttons: "Run runbook" (on alert messages and interrupted runs) and a step's Run / Skip / Stop."""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.cloudrun.targets import UnknownTarget, resolve
from bot.container import Container
from bot.rollback.record import ephemeral
from bot.slack.escape import escape
from bot.slack.outbox import enqueue
from handlers.commands.runbook import library
from runbooks import engine
from runbooks.render import CONTINUE_ACTION, RUN_ACTION, SKIP_ACTION, STOP_ACTION

log = logging.getLogger("flare.runbooks")


def _where(body: dict[str, Any]) -> tuple[str, str, str]:
    action = (body.get("actions") or [{}])[0]
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id") or ""
    return str(action.get("value") or ""), str(channel), str((body.get("user") or {}).get("id") or "")


def parse_run_value(value: str) -> tuple[str, str | None, str | None]:
    """(runbook, service, env) from a `runbook_run` button value."""
    data = json.loads(value)
    if not isinstance(data, dict) or not isinstance(data.get("runbook"), str):
        raise ValueError("no runbook in the button value")
    service, env = data.get("service"), data.get("env")
    return data["runbook"], str(service) if service else None, str(env) if env else None


def register(bolt: AsyncApp, container: Container) -> None:
    """Register the runbook buttons."""
    c = container

    async def tell(channel: str, user: str, text: str) -> None:
        if channel and user:
            async with c.transaction() as session:
                await enqueue(session, ephemeral(channel, user, text))

    @bolt.action(RUN_ACTION)
    async def run(ack: AsyncAck, body: dict[str, Any]) -> None:
        value, channel, user = _where(body)
        problem: str | None = None
        try:
            name, service, env = parse_run_value(value)
        except ValueError:
            log.warning("runbook_run with an unusable value")
            await ack()
            return
        found = library(c).get(name)
        if found is None:
            problem = f"There is no runbook called {escape(name)}; `/runbook list` shows them."
        elif service is None:
            problem = f"This alert names no service: run `/runbook run {escape(name)} <service>`."
        else:
            try:
                target = resolve(c.catalog, service, env)
            except UnknownTarget as exc:
                problem = escape(str(exc))
            else:
                if not found.applies_to(target.service):
                    problem = f"{escape(found.name)} does not apply to {escape(target.service)}."
                else:
                    action_ts = (body.get("actions") or [{}])[0].get("action_ts")
                    key = f"runbook-button:{body.get('trigger_id') or action_ts}"
                    await engine.start(c, found, target, channel=channel, user=user, request_key=key)
        await ack()
        if problem:
            await tell(channel, user, f":warning: {problem}")

    async def decide(ack: AsyncAck, body: dict[str, Any], action: str) -> None:
        value, channel, user = _where(body)
        run_id, _, position = value.partition(":")
        if not run_id.isdigit() or not position.isdigit() or len(run_id) > 18:
            await ack()
            return
        problem = await engine.decide(c, int(run_id), int(position), user, action)
        await ack()
        if problem:
            await tell(channel, user, escape(problem))

    @bolt.action(CONTINUE_ACTION)
    async def run_step(ack: AsyncAck, body: dict[str, Any]) -> None:
        await decide(ack, body, "continue")

    @bolt.action(SKIP_ACTION)
    async def skip_step(ack: AsyncAck, body: dict[str, Any]) -> None:
        await decide(ack, body, "skip")

    @bolt.action(STOP_ACTION)
    async def stop_run(ack: AsyncAck, body: dict[str, Any]) -> None:
        await decide(ack, body, "stop")
