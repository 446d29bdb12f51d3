"""Sentry integration webhooks: issue alerts (`event_alert`), metric alerts, and issue resolution."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.alerts.alert import Alert, Links, Parsed
from bot.alerts.parsing import (
    MAX_LABEL,
    MAX_TITLE,
    PayloadError,
    array,
    clean,
    field,
    obj,
    path_of,
    scalar_text,
    stable_key,
    string_map,
    text,
    timestamp,
    url,
)

SOURCE = "sentry"
METRIC_ACTIONS = {"critical": "firing", "warning": "firing", "resolved": "resolved"}


def parse(payload: Any, now: datetime, *, resource: str) -> Parsed:
    """Dispatch on the Sentry-Hook-Resource header."""
    body = obj(payload, "body")
    action = text(body, "action", "").lower()
    data = obj(field(body, "data", ""), "data")
    if resource == "event_alert":
        return Parsed([_event_alert(data, now)])
    if resource == "metric_alert":
        if action not in METRIC_ACTIONS:
            raise PayloadError("action", f"expected critical, warning or resolved, got {action[:40]!r}")
        return Parsed([_metric_alert(data, action, now)])
    if resource == "issue":
        if action != "resolved":
            return Parsed([], ignored=f"issue {action or 'event'}: only resolutions close alerts")
        return Parsed([_issue_resolved(data, now)])
    return Parsed([], ignored=f"resource {resource[:40]!r} carries no alerts")


def _event_alert(data: dict[str, Any], now: datetime) -> Alert:
    event = obj(field(data, "event", "data"), "data.event")
    path = "data.event"
    issue_id = scalar_text(event, "issue_id", path, required=True)
    tags = _tags(event, path)
    rule = text(data, "triggered_rule", "data")
    title = text(event, "title", path) or rule or f"Sentry issue {issue_id}"
    labels = {**tags, "alertname": rule or title[:200], "issue_id": issue_id}
    level = text(event, "level", path) or tags.get("level", "")
    if level:
        labels["level"] = level
    started = timestamp(
        event.get("datetime") or event.get("timestamp"), path_of(path, "datetime"), required=False
    )
    return Alert(
        source=SOURCE,
        dedup_key=stable_key(f"issue:{issue_id}"),
        status="firing",
        starts_at=started or now,
        ends_at=None,
        title=title[:MAX_TITLE],
        summary=text(event, "culprit", path),
        labels=labels,
        service=(tags.get("service") or None),
        severity=level or None,
        env=tags.get("environment") or None,
        runbook=tags.get("runbook") or None,
        links=Links(source=url(text(event, "web_url", path)) or url(text(event, "issue_url", path))),
        exact_start=False,
        group_hint=f"rule:{rule or issue_id}",
        group_labels={"alertname": rule} if rule else {},
    )


def _metric_alert(data: dict[str, Any], action: str, now: datetime) -> Alert:
    incident = obj(field(data, "metric_alert", "data"), "data.metric_alert")
    path = "data.metric_alert"
    incident_id = scalar_text(incident, "id", path, required=True)
    rule = obj(incident.get("alert_rule") or {}, path_of(path, "alert_rule"))
    rule_name = text(rule, "name", path_of(path, "alert_rule"))
    projects = [
        p for p in array(rule, "projects", path_of(path, "alert_rule"), required=False) if isinstance(p, str)
    ]
    projects += [p for p in array(incident, "projects", path, required=False) if isinstance(p, str)]
    started = timestamp(
        incident.get("date_started") or incident.get("date_detected"),
        path_of(path, "date_started"),
        required=False,
    )
    closed = timestamp(incident.get("date_closed"), path_of(path, "date_closed"), required=False)
    title = rule_name or text(incident, "title", path) or f"Sentry metric alert {incident_id}"
    labels = {"alertname": title[:200], "severity": action if action != "resolved" else "resolved"}
    if projects:
        labels["project"] = clean(projects[0], MAX_LABEL)
    status = METRIC_ACTIONS[action]
    return Alert(
        source=SOURCE,
        dedup_key=stable_key(f"metric:{incident_id}"),
        status=status,  # type: ignore[arg-type]
        starts_at=started or now,
        ends_at=(closed or now) if status == "resolved" else None,
        title=title[:MAX_TITLE],
        summary=text(data, "description_text", "data"),
        labels=labels,
        service=labels.get("project"),
        severity=action if action != "resolved" else None,
        links=Links(source=url(text(data, "web_url", "data"))),
        exact_start=started is not None,
        group_hint=f"metric:{rule_name or incident_id}",
        group_labels={"alertname": title[:200]},
    )


def _issue_resolved(data: dict[str, Any], now: datetime) -> Alert:
    issue = obj(field(data, "issue", "data"), "data.issue")
    issue_id = scalar_text(issue, "id", "data.issue", required=True)
    title = text(issue, "title", "data.issue") or f"Sentry issue {issue_id}"
    return Alert(
        source=SOURCE,
        dedup_key=stable_key(f"issue:{issue_id}"),
        status="resolved",
        starts_at=now,
        ends_at=now,
        title=title[:MAX_TITLE],
        labels={"issue_id": issue_id},
        links=Links(
            source=url(text(issue, "web_url", "data.issue")) or url(text(issue, "permalink", "data.issue"))
        ),
        exact_start=False,
        group_hint=f"issue:{issue_id}",
    )


def _tags(event: dict[str, Any], path: str) -> dict[str, str]:
    """Sentry tags come as [[key, value], ...] (or, from some SDKs, as an object)."""
    raw = event.get("tags")
    if raw is None:
        return {}
    if isinstance(raw, dict):
        return string_map(event, "tags", path, lenient=True)
    where = path_of(path, "tags")
    if not isinstance(raw, list):
        raise PayloadError(where, "expected an array of [key, value] pairs")
    tags: dict[str, str] = {}
    for i, pair in enumerate(raw):
        if isinstance(pair, dict) and isinstance(pair.get("key"), str):
            key, value = pair["key"], pair.get("value")
        elif isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str):
            key, value = pair[0], pair[1]
        else:
            raise PayloadError(path_of(where, i), "expected a [key, value] pair")
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            tags[clean(key, 200)] = clean(str(value), MAX_LABEL)
    return tags
