"""Google Cloud Monitoring webhook (schema 1.2, and the console's `version: "test"` notification)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.alerts.alert import Alert, Links, Parsed
from bot.alerts.parsing import (
    MAX_TITLE,
    PayloadError,
    array,
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

SOURCE = "gcp_monitoring"


def parse(payload: Any, now: datetime) -> Parsed:
    """`{version, incident: {incident_id, state, policy_name, resource, started_at, ...}}` into one Alert."""
    body = obj(payload, "body")
    version = scalar_text(body, "version", "")
    incident = obj(field(body, "incident", ""), "incident")
    path = "incident"
    incident_id = scalar_text(incident, "incident_id", path, required=True)
    state = text(incident, "state", path, required=True).lower()
    if state not in ("open", "closed"):
        raise PayloadError(path_of(path, "state"), f"expected 'open' or 'closed', got {state[:40]!r}")
    started = timestamp(incident.get("started_at"), path_of(path, "started_at"), required=False)
    ended = timestamp(incident.get("ended_at"), path_of(path, "ended_at"), required=False)
    resource = obj(incident.get("resource") or {}, path_of(path, "resource"))
    metadata = obj(incident.get("metadata") or {}, path_of(path, "metadata"))
    policy = text(incident, "policy_name", path)
    condition = text(incident, "condition_name", path)
    summary = text(incident, "summary", path)
    labels: dict[str, str] = {
        **string_map(resource, "labels", path_of(path, "resource"), lenient=True),
        **string_map(metadata, "system_labels", path_of(path, "metadata"), lenient=True),
        **string_map(metadata, "user_labels", path_of(path, "metadata"), lenient=True),
        **string_map(incident, "policy_user_labels", path, lenient=True),
    }
    resource_type = text(resource, "type", path_of(path, "resource"))
    for name, value in (("alertname", policy), ("condition", condition), ("resource_type", resource_type)):
        if value and name not in labels:
            labels[name] = value
    if version == "test":
        labels.setdefault("test", "true")
    severity = text(incident, "severity", path) or labels.get("severity", "")
    if severity.lower() == "no severity":
        severity = ""
    service = labels.get("service") or labels.get("service_name") or None
    alert = Alert(
        source=SOURCE,
        dedup_key=stable_key(incident_id),
        status="firing" if state == "open" else "resolved",
        starts_at=started or now,
        ends_at=(ended or now) if state == "closed" else None,
        title=(policy or condition or summary or f"Incident {incident_id}")[:MAX_TITLE],
        summary=summary,
        labels=labels,
        annotations={"documentation": _documentation(incident, path)}
        if incident.get("documentation")
        else {},
        service=service[:100] if service else None,
        severity=severity or None,
        env=labels.get("env") or labels.get("environment") or None,
        runbook=labels.get("runbook") or None,
        links=Links(source=url(text(incident, "url", path)), runbook=_runbook_link(incident, path)),
        exact_start=started is not None,
        group_hint=f"policy:{policy or incident_id}",
        group_labels={"alertname": policy} if policy else {},
    )
    return Parsed([alert], test=version == "test")


def _documentation(incident: dict[str, Any], path: str) -> str:
    # The console's "Send test notification" sends documentation as a plain string.
    raw = incident.get("documentation")
    if isinstance(raw, str):
        return text(incident, "documentation", path)
    docs = obj(raw, path_of(path, "documentation"))
    return text(docs, "content", path_of(path, "documentation"))


def _runbook_link(incident: dict[str, Any], path: str) -> str | None:
    docs = incident.get("documentation")
    if not isinstance(docs, dict):
        return None
    where = path_of(path_of(path, "documentation"), "links")
    for i, raw in enumerate(array(docs, "links", path_of(path, "documentation"), required=False)):
        item = obj(raw, path_of(where, i))
        name = text(item, "displayName", path_of(where, i)).lower()
        link = url(text(item, "url", path_of(where, i)))
        if link and ("runbook" in name or "playbook" in name or i == 0):
            return link
    return None
