"""What the renderer reads: plain, frozen copies of the stored incident, timeline and references."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any, NamedTuple


@dataclass(frozen=True)
class IncidentFacts:
    """The incident row as the renderer needs it (times are aware UTC)."""

    id: int
    title: str
    severity: str
    status: str
    declared_by: str
    declared_at: datetime
    channel_name: str
    description: str = ""
    service: str | None = None
    commander: str | None = None
    comms: str | None = None
    source: str = "slack"
    channel_id: str | None = None
    impact_started_at: datetime | None = None
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    mitigated_at: datetime | None = None
    mitigated_by: str | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    summary: str | None = None

    @property
    def human_id(self) -> str:
        """INC-<id>."""
        return f"INC-{self.id}"


class TimelineEvent(NamedTuple):
    """One recorded timeline event (a tuple: a 10,000-event timeline is built and read quickly)."""

    id: int
    kind: str
    text: str
    actor: str | None
    occurred_at: datetime
    data: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True)
class ActionItemFacts:
    """One action item from `/incident action`."""

    id: int
    text: str
    owner: str | None
    status: str
    created_by: str
    created_at: datetime


@dataclass(frozen=True)
class AlertFacts:
    """An alert named in the timeline: where it came from and when Flare received it."""

    id: int
    source: str
    title: str
    starts_at: datetime
    received_at: datetime


@dataclass(frozen=True)
class SlackMessage:
    """A delivered Slack message: its channel id and ts."""

    channel: str
    ts: str


@dataclass(frozen=True)
class References:
    """Stored facts that let the draft name sources and link to Slack messages.

    `messages` maps outbox keys (e.g. "rollback:7") to delivered messages; `event_messages` maps
    an event id to the channel post it caused (status updates, status and severity changes).
    Slack messages are linked only when `workspace_url` (https://acme.slack.com) is known.
    """

    alerts: Mapping[int, AlertFacts] = field(default_factory=dict)
    messages: Mapping[str, SlackMessage] = field(default_factory=dict)
    event_messages: Mapping[int, SlackMessage] = field(default_factory=dict)
    workspace_url: str | None = None
    # Display names of the Slack users the draft names (from the people table); others show their id.
    people: Mapping[str, str] = field(default_factory=dict)
