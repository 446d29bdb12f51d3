"""Helpers for the incident tests: read an incident and refused outbox items, find Slack state."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from bot.incidents.models import Incident
from bot.slack.models import OutboxItem
from tests.conftest import Flare
from tests.fakes.slack import Channel, FakeSlack, Message
from tests.support.messages import text_of


async def failed_outbox(flare: Flare) -> list[tuple[str, str | None]]:
    """(method, error) of every outbox item Slack refused."""
    async with flare.container.db.sessions() as session:
        rows = await session.execute(
            select(OutboxItem.method, OutboxItem.last_error).where(OutboxItem.status == "failed")
        )
    return [(m, e) for m, e in rows.all()]


async def incident(flare: Flare, incident_id: int = 1) -> Incident:
    """One stored incident (fresh from the database)."""
    async with flare.container.db.sessions() as session:
        found = await session.get(Incident, incident_id)
    assert found is not None, f"INC-{incident_id} not stored"
    return found


def incident_channel(fake: FakeSlack, incident_id: int = 1) -> Channel:
    """The channel Flare created for INC-<id>."""
    for call in fake.ok_calls("conversations.create"):
        name = str(call.params["name"])
        if f"-{incident_id}-" in name or name.endswith(f"-{incident_id}"):
            channel = fake.channel_named(str(call.response["channel"]["name"]))
            assert channel is not None
            return channel
    raise AssertionError(f"no channel created for INC-{incident_id}")


def card(fake: FakeSlack, channel: Channel) -> Message:
    """The summary card in the channel (the first message with incident action buttons)."""
    for message in fake.posted(channel.id):
        if message.blocks and any(b.get("type") == "actions" for b in message.blocks):
            return message
    raise AssertionError("no card posted")


def action_ids(message: Message) -> list[str]:
    """The action ids of a message's buttons and selects."""
    return [e["action_id"] for b in message.blocks or [] if b.get("type") == "actions" for e in b["elements"]]


def texts(messages: Sequence[Message]) -> list[str]:
    """text_of for each message."""
    return [text_of(m) for m in messages]


def notices(fake: FakeSlack, channel: Channel) -> list[str]:
    """Text of every message in the channel except the card."""
    the_card = card(fake, channel)
    return [text_of(m) for m in fake.posted(channel.id) if m.ts != the_card.ts]


def _select(value: str | None) -> dict[str, Any]:
    if value is None:
        return {"type": "static_select", "selected_option": None}
    return {
        "type": "static_select",
        "selected_option": {"value": value, "text": {"type": "plain_text", "text": value}},
    }


def view_values(
    title: str = "",
    severity: str | None = None,
    service: str | None = None,
    description: str = "",
    commander: str | None = None,
) -> dict[str, dict[str, Any]]:
    """state.values of a declare modal submission."""
    return {
        "title": {"value": {"type": "plain_text_input", "value": title}},
        "severity": {"value": _select(severity)},
        "service": {"value": _select(service)},
        "description": {"value": {"type": "plain_text_input", "value": description}},
        "commander": {"value": {"type": "users_select", "selected_user": commander}},
    }
