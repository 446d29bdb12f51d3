"""Buttons on rollback messages: Confirm, Cancel, Roll back further, Restore previous, Plan again.

Confirm and Cancel decide from the catalog's rbac inside the listener when they can; when the
answer depends on user group membership (a Slack call), they ack first and finish in the
background. Replies to refused clicks are ephemeral, through the outbox.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.catalog.rbac import decide
from bot.container import Container
from bot.rollback import confirm as confirming
from bot.rollback import flows
from bot.rollback import requests as change_requests
from bot.rollback.access import check_access
from bot.rollback.render import (
    CANCEL_ACTION,
    CONFIRM_ACTION,
    FURTHER_ACTION,
    PLAN_AGAIN_ACTION,
    RESTORE_ACTION,
)


def _parse(body: dict[str, Any]) -> tuple[int | None, str, str]:
    action = (body.get("actions") or [{}])[0]
    value = str(action.get("value") or "")
    rollback_id = int(value) if value.isdigit() and len(value) < 19 else None
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id") or ""
    user = str((body.get("user") or {}).get("id") or "")
    return rollback_id, str(channel), user


def register(bolt: AsyncApp, container: Container) -> None:
    """Register the rollback message buttons."""
    c = container

    async def confirm_later(rollback_id: int, env: str, user: str) -> None:
        await confirming.confirm(c, rollback_id, user, await check_access(c, env, user))

    async def cancel_later(rollback_id: int, env: str, user: str) -> None:
        await flows.cancel(c, rollback_id, user, await check_access(c, env, user))

    @bolt.action(CONFIRM_ACTION)
    async def confirm(ack: AsyncAck, body: dict[str, Any]) -> None:
        rollback_id, _channel, user = _parse(body)
        row = await flows.load(c, rollback_id) if rollback_id is not None and user else None
        if row is None or rollback_id is None:
            await ack()
            return
        decision = decide(c.catalog.rbac, row.env, user)
        if decision.verdict == "ask_groups":
            await ack()
            c.spawn(confirm_later(rollback_id, row.env, user), name=f"confirm:{rollback_id}")
            return
        await confirming.confirm(c, rollback_id, user, decision)
        await ack()

    @bolt.action(CANCEL_ACTION)
    async def cancel(ack: AsyncAck, body: dict[str, Any]) -> None:
        rollback_id, _channel, user = _parse(body)
        row = await flows.load(c, rollback_id) if rollback_id is not None and user else None
        if row is None or rollback_id is None:
            await ack()
            return
        decision = decide(c.catalog.rbac, row.env, user)
        if decision.verdict == "ask_groups" and user != row.requested_by:
            await ack()
            c.spawn(cancel_later(rollback_id, row.env, user), name=f"cancel:{rollback_id}")
            return
        await flows.cancel(c, rollback_id, user, decision)
        await ack()

    async def follow_up(ack: AsyncAck, body: dict[str, Any], mode: str) -> None:
        rollback_id, channel, user = _parse(body)
        if rollback_id is None or not user:
            await ack()
            return
        action_ts = (body.get("actions") or [{}])[0].get("action_ts")
        key = f"{mode}:{rollback_id}:{body.get('trigger_id') or action_ts}"
        new_id = await change_requests.follow_up(
            c,
            rollback_id,
            mode,
            channel=channel,
            user=user,
            request_key=key,
            response_url=str(body.get("response_url") or "") or None,
        )
        await ack()
        if new_id is not None:
            c.spawn(flows.plan_and_propose(c, new_id), name=f"plan:{new_id}")

    @bolt.action(FURTHER_ACTION)
    async def further(ack: AsyncAck, body: dict[str, Any]) -> None:
        await follow_up(ack, body, "further")

    @bolt.action(RESTORE_ACTION)
    async def restore(ack: AsyncAck, body: dict[str, Any]) -> None:
        await follow_up(ack, body, "restore")

    @bolt.action(PLAN_AGAIN_ACTION)
    async def plan_again(ack: AsyncAck, body: dict[str, Any]) -> None:
        await follow_up(ack, body, "again")
