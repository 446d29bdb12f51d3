"""JSON views of incidents for GET /api/incidents (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from bot.incidents.models import ActionItem, Incident, IncidentEvent


def _iso(when: datetime | None) -> str | None:
    return when.isoformat().replace("+00:00", "Z") if when else None


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    return round((end - start).total_seconds(), 3) if start and end else None


def people_of(incident: Incident) -> list[str | None]:
    """The fields of an incident that name Slack users."""
    i = incident
    return [i.declared_by, i.commander, i.comms, i.acknowledged_by, i.mitigated_by, i.resolved_by]


def incident_json(
    incident: Incident, channel_id: str | None, people: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The incident's fields, its channel, the lifecycle times (UTC, ISO 8601), and `people`: the
    display name of each Slack user id it names (an id Slack could not name maps to itself)."""
    ids = [p for p in people_of(incident) if p and p[:1] in "UW" and p.isalnum()]
    names = {p: (people or {}).get(p, p) for p in ids}
    return {
        "id": incident.id,
        "human_id": incident.human_id,
        "title": incident.title,
        "description": incident.description,
        "severity": incident.severity,
        "status": incident.status,
        "service": incident.service,
        "commander": incident.commander,
        "comms": incident.comms,
        "declared_by": incident.declared_by,
        "source": incident.source,
        "origin": incident.origin,
        "channel": {
            "key": incident.channel_key,
            "name": incident.channel_name,
            "id": channel_id,
            "error": incident.channel_error,
        },
        "declared_at": _iso(incident.declared_at),
        "impact_started_at": _iso(incident.impact_started_at),
        "acknowledged_at": _iso(incident.acknowledged_at),
        "acknowledged_by": incident.acknowledged_by,
        "mitigated_at": _iso(incident.mitigated_at),
        "mitigated_by": incident.mitigated_by,
        "resolved_at": _iso(incident.resolved_at),
        "resolved_by": incident.resolved_by,
        "summary": incident.summary,
        "last_update_at": _iso(incident.last_update_at),
        "next_reminder_at": _iso(incident.next_reminder_at),
        "people": names,
        "durations_seconds": {
            "to_acknowledge": _seconds(incident.declared_at, incident.acknowledged_at),
            "to_mitigate": _seconds(incident.declared_at, incident.mitigated_at),
            "to_resolve": _seconds(incident.declared_at, incident.resolved_at),
        },
    }


def event_json(event: IncidentEvent) -> dict[str, Any]:
    """One timeline event."""
    return {
        "id": event.id,
        "kind": event.kind,
        "text": event.text,
        "actor": event.actor,
        "occurred_at": _iso(event.occurred_at),
        "recorded_at": _iso(event.recorded_at),
        "data": event.data or {},
    }


def action_item_json(item: ActionItem) -> dict[str, Any]:
    """One action item."""
    return {
        "id": item.id,
        "text": item.text,
        "owner": item.owner,
        "status": item.status,
        "created_by": item.created_by,
        "created_at": _iso(item.created_at),
    }


def detail_json(
    incident: Incident,
    channel_id: str | None,
    events: Sequence[IncidentEvent],
    items: Sequence[ActionItem],
    people: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The incident with its whole timeline and action items."""
    body = incident_json(incident, channel_id, people)
    extra = [e.actor for e in events] + [i.owner for i in items]
    body["people"].update({p: (people or {}).get(p, p) for p in extra if p and p[:1] in "UW" and p.isalnum()})
    body["timeline"] = [event_json(e) for e in events]
    body["delivery_failures"] = [event_json(e) for e in events if e.kind == "delivery_failed"]
    body["action_items"] = [action_item_json(i) for i in items]
    return body
