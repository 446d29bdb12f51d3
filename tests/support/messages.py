"""Reading what Flare posted to the fake Slack: a message's whole text, its buttons."""

from __future__ import annotations

import json
from typing import Any

from tests.fakes.slack import Message


def text_of(message: Message | dict[str, Any]) -> str:
    """A message's fallback text and every text in its blocks, as one string (a Message or a payload)."""
    if isinstance(message, dict):
        text, blocks = str(message.get("text", "")), message.get("blocks")
    else:
        text, blocks = message.text, message.blocks
    return text + "\n" + json.dumps(blocks or [], ensure_ascii=False)


def buttons(blocks: list[dict[str, Any]] | None) -> dict[str, dict[str, Any]]:
    """The buttons (and selects) of a message's action blocks, by action_id."""
    found: dict[str, dict[str, Any]] = {}
    for block in blocks or []:
        if block.get("type") == "actions":
            for element in block.get("elements", []):
                found[element["action_id"]] = element
    return found
