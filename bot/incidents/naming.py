"""Human ids and Slack channel names for incidents."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime

_NOT_ALLOWED = re.compile(r"[^a-z0-9]+")
_HUMAN_ID = re.compile(r"^(?:INC-?)?(\d{1,12})$", re.IGNORECASE)
CHANNEL_NAME_LIMIT = 80


def human_id(incident_id: int) -> str:
    """42 -> 'INC-42'."""
    return f"INC-{incident_id}"


def parse_human_id(text: str) -> int | None:
    """'INC-42', 'inc42' or '42' -> 42; None otherwise."""
    match = _HUMAN_ID.match(text.strip())
    return int(match.group(1)) if match else None


def looks_like_human_id(text: str) -> bool:
    """True for 'INC-42' / 'inc-42' (a bare number is not taken as an incident id)."""
    return text.upper().startswith("INC") and parse_human_id(text) is not None


def slugify(title: str, limit: int = CHANNEL_NAME_LIMIT) -> str:
    """A Slack-safe slug: lower-case ASCII letters, digits and single dashes."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii")
    slug = _NOT_ALLOWED.sub("-", ascii_title.lower()).strip("-")
    return slug[:limit].rstrip("-")


def channel_name(prefix: str, declared_at: datetime, incident_id: int, title: str) -> str:
    """`<prefix>-<yyyymmdd>-<id>-<slug>`, at most 80 characters (Slack's limit)."""
    head = f"{prefix}-{declared_at:%Y%m%d}-{incident_id}"
    room = CHANNEL_NAME_LIMIT - len(head) - 1
    slug = slugify(title, room) if room > 0 else ""
    return f"{head}-{slug}" if slug else head
