"""Modal submissions: declare, post update, resolve. A view submitted twice is handled once."""

from __future__ import annotations

import dataclasses
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.container import Container
from bot.db.dedup import first_delivery
from bot.incidents import flows, modals, queries
from bot.incidents.lifecycle import IncidentError
from bot.incidents.types import DeclareRequest
from bot.slack.escape import safe
from bot.slack.outbox import caused_by, enqueue, post_message


def register(bolt: AsyncApp, container: Container) -> None:
    """Register the incident modal submissions."""

    @bolt.view(modals.DECLARE)
    async def declare(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        values = (view.get("state") or {}).get("values") or {}
        form = modals.parse_declare(values, str(view.get("private_metadata") or ""), container.catalog)
        if isinstance(form, dict):
            await ack(response_action="errors", errors=form)
            return
        request = DeclareRequest(
            title=form.title,
            severity=form.severity,
            declared_by=str(body["user"]["id"]),
            service=form.service,
            description=form.description,
            commander=form.commander,
            source="slack",
            dedup_key=f"view:{view['id']}",
        )
        with caused_by(request.declared_by):
            async with container.transaction() as session:
                incident = await flows.declare(container, session, request, origin=form.origin)
                # The modal just closes: tell the declarer privately where /incident was typed, else by DM.
                text = (
                    f":rotating_light: Declared *{incident.human_id}* ({incident.severity}): "
                    f"{safe(incident.title, 200)}\nOpening #{incident.channel_name}, inviting responders "
                    "and pinning the summary card there."
                )
                user = request.declared_by
                confirm = (
                    flows.ephemeral_notice(form.channel, user, text)
                    if form.channel
                    else post_message(user, text=text)
                )
                await enqueue(session, dataclasses.replace(confirm, dedup_key=f"{request.dedup_key}:confirm"))
        await ack()

    @bolt.view(modals.UPDATE)
    async def update(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        await _text_submission(container, ack, body, view, modals.UPDATE)

    @bolt.view(modals.RESOLVE)
    async def resolve(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        await _text_submission(container, ack, body, view, modals.RESOLVE)


async def _text_submission(
    c: Container, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], kind: str
) -> None:
    values = (view.get("state") or {}).get("values") or {}
    incident_id, text = modals.parse_text(values, str(view.get("private_metadata") or ""))
    if incident_id is None:
        await ack(
            response_action="errors", errors={"text": "This form lost track of its incident; reopen it."}
        )
        return
    if kind == modals.UPDATE and not text:
        await ack(response_action="errors", errors={"text": "Write the update."})
        return
    user = str(body["user"]["id"])
    try:
        async with c.transaction() as session:
            # The same view submitted twice (a double click, a retry) is acted on once.
            if await first_delivery(session, f"view:{view['id']}"):
                incident = await queries.load(session, incident_id, for_update=True)
                if incident is None:
                    raise IncidentError(f"INC-{incident_id} no longer exists.")
                if kind == modals.UPDATE:
                    await flows.post_update(c, session, incident, text, user)
                else:
                    await flows.change_status(c, session, incident, "resolve", user, text or None)
    except IncidentError as exc:
        await ack(response_action="errors", errors={"text": exc.message})
        return
    await ack()
