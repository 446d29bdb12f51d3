"""Buttons on alert group messages: Acknowledge and Declare incident (Run runbook is the runbooks')."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.alerts import actions
from bot.alerts.render import ACK_ACTION, DECLARE_ACTION
from bot.container import Container
from handlers.commands import page as page_commands
from handlers.incident_modal import open_declare_modal

log = logging.getLogger("flare.alerts")


def _group_id(body: dict[str, Any]) -> int | None:
    value = str((body.get("actions") or [{}])[0].get("value") or "")
    return int(value) if value.isdigit() and len(value) < 19 else None


def _channel(body: dict[str, Any]) -> str | None:
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")
    return str(channel) if channel else None


def register(bolt: AsyncApp, container: Container) -> None:
    """Register the alert group buttons."""

    @bolt.action(ACK_ACTION)
    async def acknowledge(ack: AsyncAck, body: dict[str, Any]) -> None:
        group_id = _group_id(body)
        user = str((body.get("user") or {}).get("id") or "")
        if group_id is None or not user:
            log.warning("alert_ack with an unusable value", extra={"value_ok": group_id is not None})
            await ack()
            return
        await actions.acknowledge(container, group_id, user, _channel(body))
        await ack()

    @bolt.action(DECLARE_ACTION)
    async def declare(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        group_id = _group_id(body)
        info = await actions.group_info(container, group_id) if group_id is not None else None
        await ack()
        if info is None:
            return
        service = info.service if info.service and container.catalog.service(info.service) else None
        description = (
            f"From alert group #{info.id} ({info.firing} firing of {info.total}, route {info.route})."
        )
        container.spawn(
            open_declare_modal(
                client,
                str(body.get("trigger_id") or ""),
                container.catalog,
                title=info.title,
                severity=info.severity,
                service=service,
                description=description,
                origin=f"alert-group:{info.id}",
                oncall=page_commands.oncall_line(container),
            ),
            name="alert-declare-modal",
        )
