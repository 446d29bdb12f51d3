"""Opening the incident modals (Slack UI). Callers ack first, then spawn these with the trigger_id."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.catalog import Catalog
from bot.incidents.modals import declare_modal, text_modal
from bot.incidents.types import IncidentSnapshot
from bot.paging.render import with_oncall

log = logging.getLogger("flare.incidents")


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
    oncall: Callable[[], Awaitable[str | None]] | None = None,
) -> None:
    """Open the declare modal, pre-filled; `origin` (e.g. "alert-group:17") is recorded on the incident.

    `channel` (where /incident was typed) gets the declarer's private confirmation. With `oncall`, the
    modal is then updated to show who is on call beside the severity (the lookup may take up to 2 s,
    so it never delays the modal itself).
    """
    view = declare_modal(
        catalog,
        title=title,
        severity=severity,
        service=service,
        description=description,
        origin=origin,
        channel=channel,
    )
    opened = await client.views_open(trigger_id=trigger_id, view=view)
    line = await oncall() if oncall is not None else None
    if not line:
        return
    stored = opened.get("view") or {}
    try:
        await client.views_update(
            view_id=stored.get("id"), hash=stored.get("hash"), view=with_oncall(view, line)
        )
    except SlackApiError as exc:
        # hash_conflict / not_found: the person already changed, submitted or closed the modal.
        log.info("declare modal not updated with the on-call", extra={"error": exc.response.get("error")})


async def open_text_modal(
    client: AsyncWebClient, trigger_id: str, kind: str, incident: IncidentSnapshot
) -> None:
    """Open the 'Post update' or 'Resolve' modal for an incident."""
    await client.views_open(trigger_id=trigger_id, view=text_modal(kind, incident))
