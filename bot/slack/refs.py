"""Placeholders for Slack ids that exist only once an earlier outbox item is delivered.

An outbox payload may contain `<flare:channel:KEY>` (the channel id recorded under KEY) or
`<flare:ts:KEY>` (the message ts recorded under KEY). Escaped external text can never contain
a literal `<`, so these markers cannot be forged by alert labels or user input.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

_TOKEN = re.compile(r"<flare:(channel|ts):([^<>]{1,200})>")


def channel_ref(key: str) -> str:
    """A placeholder for the channel id recorded under `key`."""
    return f"<flare:channel:{key}>"


def ts_ref(key: str) -> str:
    """A placeholder for the message ts recorded under `key`."""
    return f"<flare:ts:{key}>"


def refs_in(payload: Any) -> set[str]:
    """Every reference key that `payload` needs resolved."""
    found: set[str] = set()

    def visit(value: Any) -> None:
        if isinstance(value, str):
            found.update(m.group(2) for m in _TOKEN.finditer(value))
        elif isinstance(value, dict):
            for item in value.values():
                visit(item)
        elif isinstance(value, list):
            for item in value:
                visit(item)

    visit(payload)
    return found


def resolve(payload: Any, lookup: Callable[[str, str], str]) -> Any:
    """A copy of `payload` with every placeholder replaced via lookup(kind, key)."""
    if isinstance(payload, str):
        return _TOKEN.sub(lambda m: lookup(m.group(1), m.group(2)), payload)
    if isinstance(payload, dict):
        return {k: resolve(v, lookup) for k, v in payload.items()}
    if isinstance(payload, list):
        return [resolve(v, lookup) for v in payload]
    return payload
