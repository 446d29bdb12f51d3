"""The fake Slack's records (calls, messages, channels, scripted faults) and its fixed identities."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

BOT_TOKEN = "xoxb-test-0000-flare-token"
TEAM_ID = "T0FLARE01"
BOT_USER_ID = "U0FLAREBOT"
BOT_ID = "B0FLAREBOT"
APP_ID = "A0FLARE01"
APP_TOKEN = "xapp-1-A0FLARE01-0000-flare-app-token"
# Methods called with the app-level token (xapp-) rather than the bot token.
APP_TOKEN_METHODS = frozenset({"apps.connections.open"})


@dataclass
class Call:
    """One API call as the fake received it."""

    method: str
    params: dict[str, Any]
    at: float
    status: int = 200
    response: dict[str, Any] = field(default_factory=dict)
    verb: str = "POST"
    content_type: str = ""


@dataclass
class Message:
    """A message as Slack would store it."""

    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]] | None
    user: str
    thread_ts: str | None = None
    edits: int = 0
    pinned: bool = False


@dataclass
class Channel:
    """A channel as Slack would store it."""

    id: str
    name: str
    creator: str
    is_private: bool = False
    topic: str = ""
    members: set[str] = field(default_factory=set)


@dataclass
class Fault:
    """A scripted failure for the next `times` calls of a method."""

    status: int = 429
    retry_after: int = 1
    error: str | None = None
    times: int = 1


@dataclass
class SocketAck:
    """An acknowledgement Flare sent over a Socket Mode connection."""

    envelope_id: str
    payload: dict[str, Any] | None
    after: float  # seconds from sending the envelope to receiving its ack
