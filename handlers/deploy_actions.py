"""The "Roll back to previous" button on suspect-change posts.

It starts the rollback flow of /rollback (bot/rollback/flows.py): the request is stored, planned
against Cloud Run and posted for confirmation; only people the catalog's rbac allows can confirm,
the service lock is taken, and the result is verified.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.container import Container
from bot.deploys.actions import rollback_request
from bot.deploys.render import ROLLBACK_ACTION
from bot.rollback import flows
from bot.rollback.record import ephemeral
from bot.rollback.requests import request_change
from bot.slack.outbox import enqueue


def _parse(body: dict[str, Any]) -> tuple[int | None, str, str, str]:
    action = (body.get("actions") or [{}])[0]
    value = str(action.get("value") or "")
    deploy_id = int(value) if value.isdigit() and len(value) < 19 else None
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id") or ""
    user = str((body.get("user") or {}).get("id") or "")
    click = str(body.get("trigger_id") or action.get("action_ts") or "")
    return deploy_id, str(channel), user, click


def register(bolt: AsyncApp, container: Container) -> None:
    """Register the suspect post's rollback button."""
    c = container

    @bolt.action(ROLLBACK_ACTION)
    async def roll_back(ack: AsyncAck, body: dict[str, Any]) -> None:
        deploy_id, channel, user, click = _parse(body)
        if deploy_id is None or not user or not channel:
            await ack()
            return
        found = await rollback_request(c, deploy_id)
        if found is None:
            async with c.transaction() as session:
                await enqueue(
                    session, ephemeral(channel, user, f"Deploy #{deploy_id} is not recorded any more.")
                )
            await ack()
            return
        target, request = found
        requested = await request_change(
            c,
            request_key=f"deploy-rollback:{deploy_id}:{click}",
            kind="rollback",
            service=target.service,
            env=target.env,
            channel=channel,
            user=user,
            request=request,
            response_url=str(body.get("response_url") or "") or None,
        )
        await ack()
        rollback_id = requested.id
        if rollback_id is not None:
            c.spawn(flows.plan_and_propose(c, rollback_id), name=f"plan:{rollback_id}")
