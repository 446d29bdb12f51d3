"""Small pure helpers for describing revisions and traffic in messages."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from bot.slack.escape import escape


def ago(then: datetime | None, now: datetime) -> str:
    """A compact age: '45s', '12m', '3h', '5d' ('?' when unknown)."""
    if then is None:
        return "?"
    seconds = max(int((now - then).total_seconds()), 0)
    if seconds < 90:
        return f"{seconds}s"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)}m"
    if seconds < 36 * 3600:
        return f"{round(seconds / 3600)}h"
    return f"{round(seconds / 86400)}d"


def code(text: str) -> str:
    """External text as inline code (escaped; backticks cannot break out)."""
    return "`" + escape(text).replace("`", "'") + "`"


def split_text(split: Mapping[str, int], tags: Mapping[str, str] | None = None) -> str:
    """'`rev-a` 90% · `rev-b` 10% (tag `canary`)', largest share first."""
    if not split:
        return "_no traffic_"
    parts = []
    for name, percent in sorted(split.items(), key=lambda kv: (-kv[1], kv[0])):
        tag = (tags or {}).get(name)
        parts.append(f"{code(name)} {percent}%" + (f" (tag {code(tag)})" if tag else ""))
    return " · ".join(parts)


def plain_split(split: Mapping[str, int]) -> str:
    """'rev-a 90%, rev-b 10%' for notification text (escaped)."""
    return ", ".join(f"{escape(n)} {p}%" for n, p in sorted(split.items(), key=lambda kv: (-kv[1], kv[0])))
