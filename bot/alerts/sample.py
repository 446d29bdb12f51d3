"""An alert as a source would send it, made from labels: what `flare routes test --source` routes.

Each source derives routing labels its own way (Alertmanager's service from `job`/`app`, severity
from `priority`, env from `environment`; Cloud Monitoring from policy user labels; Sentry from event
tags and level; PagerDuty from its service name and priority). So the labels are put into a minimal
payload of that source's documented shape and run through the same parser the webhook uses; the
result is routed with the same `routing_labels` and `decide` as live alerts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.alerts.alert import SOURCES, Alert
from bot.alerts.routing import routing_labels
from bot.alerts.sources import alertmanager, gcp_monitoring, generic, grafana, pagerduty, sentry


def _alertmanager(labels: dict[str, str], when: str) -> dict[str, Any]:
    alert = {"status": "firing", "labels": {"alertname": "RoutesTest", **labels}, "startsAt": when}
    return {"alerts": [alert], "groupKey": "routes-test", "status": "firing", "version": "4"}


def _gcp(labels: dict[str, str], when: str) -> dict[str, Any]:
    incident = {
        "incident_id": "routes-test",
        "state": "open",
        "policy_name": labels.get("alertname", "RoutesTest"),
        "policy_user_labels": labels,
        "severity": labels.get("severity", ""),
        "started_at": 0,
    }
    return {"version": "1.2", "incident": incident}


def _sentry(labels: dict[str, str], when: str) -> dict[str, Any]:
    event = {
        "issue_id": "1",
        "title": labels.get("alertname", "RoutesTest"),
        "level": labels.get("level", labels.get("severity", "")),
        "datetime": when,
        "tags": [[k, v] for k, v in labels.items()],
    }
    return {"action": "triggered", "data": {"event": event, "triggered_rule": labels.get("alertname", "")}}


def _pagerduty(labels: dict[str, str], when: str) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": "PROUTES",
        "title": labels.get("alertname", "RoutesTest"),
        "created_at": when,
    }
    if "service" in labels:
        data["service"] = {"id": "PSERVICE", "summary": labels["service"]}
    if "priority" in labels or "severity" in labels:
        data["priority"] = {"summary": labels.get("priority") or labels["severity"]}
    if "urgency" in labels:
        data["urgency"] = labels["urgency"]
    return {"event": {"event_type": "incident.triggered", "occurred_at": when, "data": data}}


def _generic(labels: dict[str, str], when: str) -> dict[str, Any]:
    return {
        "alerts": [
            {"dedup_key": "routes-test", "title": labels.get("alertname", "RoutesTest"), "labels": labels}
        ]
    }


def sample_alert(source: str, labels: dict[str, str], now: datetime) -> Alert:
    """The alert `source`'s webhook would make of an alert carrying `labels`."""
    when = now.isoformat().replace("+00:00", "Z")
    if source == "alertmanager":
        return alertmanager.parse(_alertmanager(labels, when), now).alerts[0]
    if source == "grafana":
        return grafana.parse(_alertmanager(labels, when), now).alerts[0]
    if source == "gcp_monitoring":
        return gcp_monitoring.parse(_gcp(labels, when), now).alerts[0]
    if source == "sentry":
        return sentry.parse(_sentry(labels, when), now, resource="event_alert").alerts[0]
    if source == "pagerduty":
        return pagerduty.parse(_pagerduty(labels, when), now).alerts[0]
    if source == "generic":
        return generic.parse(_generic(labels, when), now).alerts[0]
    raise ValueError(f"unknown source {source!r}; one of {', '.join(SOURCES)}")


def derived_labels(alert: Alert) -> dict[str, str]:
    """The labels routing matchers see for `alert` (as for a live one)."""
    return routing_labels(alert)
