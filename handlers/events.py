"""Events API: messages pinned (`pin_added`) or given a 📌 (`reaction_added`) in an incident channel.

Slack retries an event up to 3 times; each `event_id` is processed once (inbound_keys), and the
same message captured twice (pinned and 📌) is one timeline event.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.container import Container
from bot.db.dedup import first_delivery
from bot.incidents import capture, queries

CAPTURE_REACTIONS = frozenset({"pushpin"})


async def _capture(
    c: Container,
    body: dict[str, Any],
    *,
    channel: str,
    ts: str,
    author: str | None,
    text: str | None,
    permalink: str | None,
    captured_by: str | None,
    via: str,
) -> None:
    if not channel or not capture.is_message_ts(ts):
        return
    pending: int | None = None
    event_id = body.get("event_id")
    async with c.transaction() as session:
        incident = await queries.by_channel(session, channel)
        if incident is None or await capture.is_card(session, incident, ts):
            return
        if event_id and not await first_delivery(session, f"event:{event_id}"):
            return
        pending = await capture.capture(
            session,
            incident.id,
            channel=channel,
            ts=ts,
            author=author,
            text=text,
            permalink=permalink,
            captured_by=captured_by,
            via=via,
        )
    if pending is not None:
        c.spawn(capture.enrich(c, pending), name="incident-capture-fetch")


def register(bolt: AsyncApp, container: Container) -> None:
    """Register the pin and reaction listeners."""

    @bolt.event("pin_added")
    async def pin_added(body: dict[str, Any], event: dict[str, Any]) -> None:
        item = event.get("item") or {}
        if item.get("type") != "message":
            return
        message = item.get("message") or {}
        pinned_by = event.get("user") or item.get("created_by")
        if pinned_by and pinned_by == container.identity.user_id:
            return  # Flare pinning its own summary card
        text = message.get("text")
        await _capture(
            container,
            body,
            channel=str(event.get("channel_id") or item.get("channel") or ""),
            ts=str(message.get("ts") or ""),
            author=message.get("user") or message.get("bot_id") or event.get("item_user"),
            text=str(text) if text is not None else None,
            permalink=message.get("permalink"),
            captured_by=pinned_by,
            via="pin",
        )

    @bolt.event("reaction_added")
    async def reaction_added(body: dict[str, Any], event: dict[str, Any]) -> None:
        item = event.get("item") or {}
        if event.get("reaction") not in CAPTURE_REACTIONS or item.get("type") != "message":
            return
        await _capture(
            container,
            body,
            channel=str(item.get("channel") or ""),
            ts=str(item.get("ts") or ""),
            author=event.get("item_user"),
            text=None,
            permalink=None,
            captured_by=event.get("user"),
            via="reaction",
        )
