"""Response metrics: the moments that define them, and time to detect/acknowledge/mitigate/resolve."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.postmortem.markdown import inline, user, utc
from bot.postmortem.model import AlertFacts, IncidentFacts, References, TimelineEvent


@dataclass(frozen=True)
class Moment:
    """When something happened, and what the time is based on (Markdown, already escaped)."""

    at: datetime
    basis: str


@dataclass(frozen=True)
class Milestones:
    """The moments the response metrics are measured between."""

    impact_start: Moment
    detected: Moment
    acknowledged: Moment | None
    mitigated: Moment | None
    resolved: Moment | None


@dataclass(frozen=True)
class Metric:
    """One response metric: name, definition, and its start and end when both are known."""

    name: str
    definition: str
    start: Moment
    end: Moment | None

    @property
    def seconds(self) -> float | None:
        """The duration in seconds (never negative), or None while the end has not happened."""
        if self.end is None:
            return None
        return max((self.end.at - self.start.at).total_seconds(), 0.0)


DEFINITIONS = {
    "TTD": "impact start → detection",
    "TTA": "detection → first acknowledgement",
    "TTM": "impact start → mitigation",
    "TTR": "impact start → resolution",
}


def first_alert(
    events: Sequence[TimelineEvent], refs: References
) -> tuple[TimelineEvent, AlertFacts | None] | None:
    """The earliest `alert_fired` event and, when stored, the alert behind it."""
    for event in events:
        if event.kind == "alert_fired":
            alert_id = event.data.get("alert_id") if event.data else None
            return event, refs.alerts.get(alert_id) if isinstance(alert_id, int) else None
    return None


def _earliest_received(events: Sequence[TimelineEvent], refs: References) -> AlertFacts | None:
    found: AlertFacts | None = None
    for event in events:
        if event.kind != "alert_fired":
            continue
        alert_id = event.data.get("alert_id") if event.data else None
        alert = refs.alerts.get(alert_id) if isinstance(alert_id, int) else None
        if alert is not None and (
            found is None or (alert.received_at, alert.id) < (found.received_at, found.id)
        ):
            found = alert
    return found


def milestones(incident: IncidentFacts, events: Sequence[TimelineEvent], refs: References) -> Milestones:
    """Impact start, detection, acknowledgement, mitigation and resolution, each with its basis."""
    declared = Moment(utc(incident.declared_at), f"declared by {user(incident.declared_by)}")
    starts: list[Moment] = []
    if incident.impact_started_at is not None:
        starts.append(Moment(utc(incident.impact_started_at), "impact start recorded on the incident"))
    fired = first_alert(events, refs)
    if fired is not None:
        event, _alert = fired
        starts.append(Moment(utc(event.occurred_at), "the first alert started firing"))
    impact = (
        min(starts, key=lambda m: m.at) if starts else Moment(declared.at, "declaration (no earlier signal)")
    )
    detected = declared
    received = _earliest_received(events, refs)
    if received is not None and utc(received.received_at) <= declared.at:
        detected = Moment(
            utc(received.received_at), f"Flare received the first alert ({inline(received.source, 40)})"
        )
    acknowledged: Moment | None = None
    if incident.acknowledged_at is not None:
        acknowledged = Moment(
            utc(incident.acknowledged_at), f"acknowledged by {user(incident.acknowledged_by)}"
        )
    for event in events:
        if event.kind == "alert_acknowledged":
            at = utc(event.occurred_at)
            if acknowledged is None or at < acknowledged.at:
                acknowledged = Moment(at, f"alert acknowledged by {user(event.actor)}")
            break
    mitigated = (
        Moment(utc(incident.mitigated_at), f"mitigated by {user(incident.mitigated_by)}")
        if incident.mitigated_at is not None
        else None
    )
    resolved = (
        Moment(utc(incident.resolved_at), f"resolved by {user(incident.resolved_by)}")
        if incident.resolved_at is not None and incident.status == "resolved"
        else None
    )
    return Milestones(impact, detected, acknowledged, mitigated, resolved)


def response_metrics(m: Milestones) -> list[Metric]:
    """TTD, TTA, TTM and TTR as defined in DEFINITIONS."""
    return [
        Metric("Time to detect (TTD)", DEFINITIONS["TTD"], m.impact_start, m.detected),
        Metric("Time to acknowledge (TTA)", DEFINITIONS["TTA"], m.detected, m.acknowledged),
        Metric("Time to mitigate (TTM)", DEFINITIONS["TTM"], m.impact_start, m.mitigated),
        Metric("Time to resolve (TTR)", DEFINITIONS["TTR"], m.impact_start, m.resolved),
    ]
