"""The summary card's buttons: Acknowledge, Post update, Change severity, Resolve, Reopen.

Buttons ack after the transaction; feedback for a refused click (double click, stale card) goes
through the outbox as an ephemeral message to the clicker.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.container import Container
from bot.incidents import flows, modals, queries
from bot.incidents.lifecycle import Action, IncidentError, parse_severity
from bot.incidents.types import snapshot
from bot.slack.outbox import enqueue
from handlers.incident_modal import open_text_modal


def _incident_id(body: dict[str, Any]) -> int | None:
    action = (body.get("actions") or [{}])[0]
    for candidate in (action.get("value"), str(action.get("block_id") or "").rsplit("-", 1)[-1]):
        if candidate and str(candidate).isdigit():
            return int(candidate)
    return None


def _where(body: dict[str, Any]) -> tuple[str, str]:
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id") or ""
    return str(channel), str(body["user"]["id"])


async def _tell(c: Container, body: dict[str, Any], text: str) -> None:
    channel, user = _where(body)
    if channel:
        async with c.transaction() as session:
            await enqueue(session, flows.ephemeral_notice(channel, user, text))


def register(bolt: AsyncApp, container: Container) -> None:
    """Register the card's action listeners."""

    async def transition(ack: AsyncAck, body: dict[str, Any], action: Action) -> None:
        incident_id = _incident_id(body)
        _channel, user = _where(body)
        problem: str | None = None
        try:
            async with container.transaction() as session:
                incident = await queries.load(session, incident_id or 0, for_update=True)
                if incident is None:
                    raise IncidentError("That incident no longer exists.")
                await flows.change_status(container, session, incident, action, user)
        except IncidentError as exc:
            problem = exc.message
        await ack()
        if problem:
            await _tell(container, body, f":warning: {problem}")

    @bolt.action("incident_ack")
    async def ack_button(ack: AsyncAck, body: dict[str, Any]) -> None:
        await transition(ack, body, "ack")

    @bolt.action("incident_reopen")
    async def reopen_button(ack: AsyncAck, body: dict[str, Any]) -> None:
        await transition(ack, body, "reopen")

    @bolt.action("incident_severity")
    async def severity_select(ack: AsyncAck, body: dict[str, Any]) -> None:
        action = (body.get("actions") or [{}])[0]
        severity = parse_severity(str((action.get("selected_option") or {}).get("value") or ""))
        _channel, user = _where(body)
        problem: str | None = None
        try:
            async with container.transaction() as session:
                incident = await queries.load(session, _incident_id(body) or 0, for_update=True)
                if incident is None or severity is None:
                    raise IncidentError("That incident or severity is not known.")
                await flows.change_severity(container, session, incident, severity, user)
        except IncidentError as exc:
            problem = exc.message
        await ack()
        if problem:
            await _tell(container, body, f":warning: {problem}")

    async def open_modal(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, kind: str) -> None:
        async with container.db.sessions() as session:
            incident = await queries.load(session, _incident_id(body) or 0)
        await ack()
        if incident is None:
            await _tell(container, body, ":warning: That incident no longer exists.")
        elif incident.status == "resolved":
            await _tell(container, body, f":warning: {incident.human_id} is resolved; reopen it first.")
        else:
            modal = open_text_modal(client, str(body["trigger_id"]), kind, snapshot(incident))
            container.spawn(modal, name=f"{kind}-modal")

    @bolt.action("incident_update")
    async def update_button(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await open_modal(ack, body, client, modals.UPDATE)

    @bolt.action("incident_resolve")
    async def resolve_button(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await open_modal(ack, body, client, modals.RESOLVE)

    # "Generate post-mortem" (incident_postmortem) is handled in handlers/postmortem.py.
