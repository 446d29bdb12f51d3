"""`/deploy gate override`: open the gate for a while, on the record, where people will see it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import insert

from bot.catalog.rbac import AccessDecision
from bot.container import Container
from bot.gate.models import GateOverride
from bot.gate.service import Blocking, GateState, evaluate
from bot.incidents import api as incidents
from bot.slack.escape import escape, safe, user_mention
from bot.slack.outbox import enqueue, post_message
from bot.slack.refs import channel_ref


@dataclass(frozen=True)
class OverrideResult:
    """What to tell the person who asked (privately)."""

    done: bool
    text: str


def may_override(blocking: list[Blocking], user: str, access: AccessDecision) -> bool:
    """The commander of a blocking incident, or someone rbac allows in that environment."""
    return access.verdict == "allowed" or any(i.commander == user for i in blocking)


async def override(
    c: Container,
    *,
    service: str,
    env: str,
    reason: str,
    minutes: int,
    user: str,
    access: AccessDecision,
) -> OverrideResult:
    """Store the override, record it on each blocking incident, post it; or say why not."""
    now = c.clock.now()
    async with c.transaction() as session:
        state = await evaluate(session, c.catalog, service, env, now)
        if not state.incidents:
            return OverrideResult(
                False, f"The gate for {escape(service)} ({escape(env)}) is open: {escape(state.reason)}."
            )
        if not may_override(state.incidents, user, access):
            why = access.reason or "you are not allowed"
            return OverrideResult(
                False,
                f":no_entry: Not overridden: only the commander of {_names(state)} or someone "
                f"allowed to change {escape(env)} may open the gate ({escape(why)}).",
            )
        expires = now + timedelta(minutes=minutes)
        await session.execute(
            insert(GateOverride).values(
                service=service,
                env=env,
                reason=reason,
                created_by=user,
                created_at=now,
                expires_at=expires,
                incidents=[i.human_id for i in state.incidents],
            )
        )
        text = (
            f":unlock: {user_mention(user)} opened the deploy gate for *{escape(service)}* ({escape(env)}) "
            f"until {expires:%H:%M} UTC despite {_names(state)}: {safe(reason, 500)}"
        )
        for incident in state.incidents:
            await incidents.record_event(
                session,
                incident.id,
                kind="deploy_gate_override",
                text=f"Deploy gate for {service} ({env}) overridden by {user} for {minutes} min: {reason}",
                actor=user,
                data={"service": service, "env": env, "minutes": minutes, "expires_at": expires.isoformat()},
            )
            await enqueue(session, post_message(channel_ref(f"incident:{incident.id}"), text=text))
        deployments = c.catalog.channels.deployments
        if deployments:
            await enqueue(session, post_message(deployments, text=text))
    return OverrideResult(True, f"Done. {text}")


def _names(state: GateState) -> str:
    return ", ".join(f"{i.human_id} ({escape(i.severity)})" for i in state.incidents)
