"""Small pure formatters the console's view models share: times, durations, Slack links."""

from __future__ import annotations

import re
from datetime import datetime
from urllib.parse import quote

from bot.postmortem.links import channel_url

_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")


def utc_text(at: datetime | None) -> str:
    """'2026-12-04 22:54 UTC' (the label the page shows with JavaScript off)."""
    return f"{at:%Y-%m-%d %H:%M} UTC" if at is not None else ""


def iso(at: datetime | None) -> str:
    """The machine-readable time for <time datetime=...> (the script shows it in the viewer's zone)."""
    return at.isoformat() if at is not None else ""


def duration(seconds: float | None) -> str:
    """'3d 4h', '2h 15m', '7m', '40s' (empty when unknown)."""
    if seconds is None or seconds < 0:
        return ""
    total = int(seconds)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m"
    return f"{secs}s"


def between(start: datetime, end: datetime | None, now: datetime) -> str:
    """How long from `start` to `end` (or to `now` while open)."""
    return duration(((end or now) - start).total_seconds())


def channel_web_url(workspace: str | None, channel_id: str | None) -> str | None:
    """https://acme.slack.com/archives/C123 (needs incidents.slack_workspace_url)."""
    return channel_url(workspace, channel_id)


def channel_app_url(team_id: str | None, channel_id: str | None) -> str | None:
    """slack://channel?team=T1&id=C1, which opens the desktop app."""
    if not team_id or not channel_id or not _CHANNEL_ID.match(channel_id):
        return None
    return f"slack://channel?team={quote(team_id)}&id={quote(channel_id)}"
