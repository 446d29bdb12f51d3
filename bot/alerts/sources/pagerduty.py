"""PagerDuty v3 webhooks: incident triggered / reopened fire, resolved resolves, priority_updated
updates the open alert's severity (alert state follows its source); the rest is noted."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from bot.alerts.alert import Alert, Links, Parsed
from bot.alerts.parsing import MAX_TITLE, field, obj, path_of, scalar_text, stable_key, text, timestamp, url

SOURCE = "pagerduty"
# priority_updated carries the whole incident: the same occurrence, with its new priority.
FIRING = {"incident.triggered", "incident.reopened", "incident.priority_updated"}
RESOLVED = {"incident.resolved"}


def parse(payload: Any, now: datetime) -> Parsed:
    """`{event: {id, event_type, resource_type, occurred_at, data: {...incident...}}}` into Alerts."""
    body = obj(payload, "body")
    event = obj(field(body, "event", ""), "event")
    event_type = text(event, "event_type", "event", required=True)
    if event_type == "pagey.ping":  # the webhook subscription's "Send test event"
        title = "PagerDuty test event"
        ping = Alert(SOURCE, stable_key("ping"), "firing", now, None, title, labels={"alertname": title})
        return Parsed([ping], test=True)
    if event_type not in FIRING | RESOLVED:
        return Parsed([], ignored=f"{event_type[:60]} does not change an alert")
    occurred = timestamp(event.get("occurred_at"), "event.occurred_at", required=False) or now
    data = obj(field(event, "data", "event"), "event.data")
    path = "event.data"
    incident_id = scalar_text(data, "id", path, required=True)
    service = obj(data.get("service") or {}, path_of(path, "service"))
    service_name = text(service, "summary", path_of(path, "service"))
    priority = obj(data.get("priority") or {}, path_of(path, "priority"))
    priority_name = text(priority, "summary", path_of(path, "priority"))
    urgency = text(data, "urgency", path)
    title = text(data, "title", path) or f"PagerDuty incident {incident_id}"
    created = timestamp(data.get("created_at"), path_of(path, "created_at"), required=False)
    labels = {"alertname": title[:200], "incident_id": incident_id}
    slug = _slug(service_name)
    if service_name:
        labels["pd_service"] = service_name[:200]
    if slug:
        labels["service"] = slug
    if urgency:
        labels["urgency"] = urgency
    if priority_name:
        labels["priority"] = priority_name
    number = scalar_text(data, "number", path)
    if number:
        labels["number"] = number
    service_id = text(service, "id", path_of(path, "service"))
    firing = event_type in FIRING
    # A reopened incident is a new occurrence; a triggered one starts when PagerDuty created it.
    start = occurred if event_type == "incident.reopened" else (created or occurred)
    return Parsed(
        [
            Alert(
                source=SOURCE,
                dedup_key=stable_key(f"incident:{incident_id}"),
                status="firing" if firing else "resolved",
                starts_at=start,
                ends_at=None if firing else occurred,
                title=title[:MAX_TITLE],
                summary=text(data, "description", path) or text(data, "summary", path),
                labels=labels,
                service=slug,
                severity=_severity(priority_name, urgency),
                links=Links(source=url(text(data, "html_url", path))),
                exact_start=False,
                group_hint=f"pd-service:{service_id or service_name or incident_id}",
                group_labels={"pd_service": service_name} if service_name else {},
            )
        ]
    )


def _slug(name: str) -> str | None:
    """PagerDuty's service name as a catalog-style slug ("Checkout API" -> "checkout-api")."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:63]
    return slug if slug and slug[0].isalpha() else None


def _severity(priority: str, urgency: str) -> str | None:
    if priority:
        return priority
    if urgency == "high":
        return "critical"
    if urgency == "low":
        return "warning"
    return None
