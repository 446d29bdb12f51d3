"""Plain values that leave the incidents package: references, requests and snapshots."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.incidents.models import Incident


@dataclass(frozen=True)
class IncidentRef:
    """What other features need to know about an incident."""

    id: int
    human_id: str
    title: str
    severity: str
    status: str
    service: str | None
    channel_key: str
    commander: str | None


@dataclass(frozen=True)
class DeclareRequest:
    """Everything needed to declare an incident (from Slack, an alert, or another feature)."""

    title: str
    severity: str
    declared_by: str
    service: str | None = None
    description: str = ""
    commander: str | None = None
    source: str = "slack"
    dedup_key: str | None = None
    impact_started_at: datetime | None = None


@dataclass(frozen=True)
class IncidentSnapshot:
    """An incident's fields as the renderers need them (no database access)."""

    id: int
    human_id: str
    title: str
    description: str
    severity: str
    status: str
    service: str | None
    commander: str | None
    comms: str | None
    declared_by: str
    declared_at: datetime
    channel_name: str
    channel_key: str
    last_update_at: datetime
    last_update_text: str | None
    resolved_at: datetime | None
    summary: str | None
    channel_error: str | None = None


def to_ref(incident: Incident) -> IncidentRef:
    """The IncidentRef of a stored incident."""
    return IncidentRef(
        id=incident.id,
        human_id=incident.human_id,
        title=incident.title,
        severity=incident.severity,
        status=incident.status,
        service=incident.service,
        channel_key=incident.channel_key,
        commander=incident.commander,
    )


def snapshot(incident: Incident) -> IncidentSnapshot:
    """A renderer-ready copy of a stored incident."""
    return IncidentSnapshot(
        id=incident.id,
        human_id=incident.human_id,
        title=incident.title,
        description=incident.description,
        severity=incident.severity,
        status=incident.status,
        service=incident.service,
        commander=incident.commander,
        comms=incident.comms,
        declared_by=incident.declared_by,
        declared_at=incident.declared_at,
        channel_name=incident.channel_name,
        channel_key=incident.channel_key,
        last_update_at=incident.last_update_at,
        last_update_text=incident.last_update_text,
        resolved_at=incident.resolved_at,
        summary=incident.summary,
        channel_error=incident.channel_error,
    )
