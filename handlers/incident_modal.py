"""Opening the incident modals (Slack UI). Callers ack first, then spawn these with the trigger_id."""

from __future__ import annotations

from slack_sdk.web.async_client import AsyncWebClient

from bot.catalog import Catalog
from bot.incidents.modals import declare_modal, text_modal
from bot.incidents.types import IncidentSnapshot


async def open_declare_modal(
    client: AsyncWebClient,
    trigger_id: str,
    catalog: Catalog,
    *,
    title: str = "",
    severity: str | None = None,
    service: str | None = None,
    description: str = "",
    origin: str | None = None,
    channel: str | None = None,
) -> None:
    """Open the declare modal, pre-filled; `origin` (e.g. "alert-group:17") is recorded on the incident,
    `channel` (where /incident was typed) gets the declarer's private confirmation."""
    view = declare_modal(
        catalog,
        title=title,
        severity=severity,
        service=service,
        description=description,
        origin=origin,
        channel=channel,
    )
    await client.views_open(trigger_id=trigger_id, view=view)


async def open_text_modal(
    client: AsyncWebClient, trigger_id: str, kind: str, incident: IncidentSnapshot
) -> None:
    """Open the 'Post update' or 'Resolve' modal for an incident."""
    await client.views_open(trigger_id=trigger_id, view=text_modal(kind, incident))
