"""Ephemeral answers for slash commands."""

from __future__ import annotations

from typing import Any

from bot.slack.escape import escape


def ephemeral(text: str, blocks: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Arguments for ack()/respond() that only the caller sees."""
    args: dict[str, Any] = {"response_type": "ephemeral", "text": text}
    if blocks is not None:
        args["blocks"] = blocks
    return args


def usage_error(problem: str, usage: str, example: str) -> dict[str, Any]:
    """An ephemeral 'what went wrong, how to use it, an example' message."""
    text = f":warning: {escape(problem)}\n*Usage:* {usage}\n*Example:* `{example}`"
    return ephemeral(text)
