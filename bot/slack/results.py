"""Reading Slack's answers for the outbox: ids to record, metric labels, placeholder lookups."""

from __future__ import annotations

from typing import Any

from bot.slack.models import SlackRef


def lookup(found: dict[str, SlackRef], kind: str, key: str) -> str:
    """The channel id or ts a placeholder stands for."""
    ref = found[key]
    if kind == "channel":
        return ref.channel_id
    return ref.ts or ""


def result_ids(method: str, result: dict[str, Any], payload: dict[str, Any]) -> tuple[str | None, str | None]:
    """(channel id, ts) of a delivered call."""
    channel = result.get("channel")
    if isinstance(channel, dict):
        channel = channel.get("id")
    if channel is None:
        channel = payload.get("channel")
    ts = result.get("ts")
    return (str(channel) if channel else None, str(ts) if ts else None)


def channel_name(result: dict[str, Any]) -> str | None:
    """The name of a created channel, as Slack answered it."""
    channel = result.get("channel")
    return str(channel.get("name")) if isinstance(channel, dict) and channel.get("name") else None


def label(error: str) -> str:
    """A metric label for Slack's error (bounded cardinality)."""
    return error if len(error) <= 40 and error.replace("_", "").replace(" ", "").isalnum() else "other"
