"""Flare's own small JSON schema for any other sender (documented in docs/alerts.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.alerts.alert import Alert, Links, Parsed
from bot.alerts.parsing import (
    MAX_TITLE,
    PayloadError,
    array,
    obj,
    path_of,
    scalar_text,
    stable_key,
    string_map,
    text,
    timestamp,
    url,
)

SOURCE = "generic"
MAX_ALERTS = 1000


def parse(payload: Any, now: datetime) -> Parsed:
    """`{"alerts": [{"dedup_key", "title", "status", ...}]}` into Alerts."""
    body = obj(payload, "body")
    items = array(body, "alerts", "")
    if len(items) > MAX_ALERTS:
        raise PayloadError("alerts", f"at most {MAX_ALERTS} alerts per request, got {len(items)}")
    alerts = [_alert(raw, path_of("alerts", i), now) for i, raw in enumerate(items)]
    return Parsed(alerts, ignored=None if alerts else "the payload has no alerts")


def _alert(raw: Any, path: str, now: datetime) -> Alert:
    item = obj(raw, path)
    key = scalar_text(item, "dedup_key", path, required=True)
    status = (text(item, "status", path) or "firing").lower()
    if status not in ("firing", "resolved"):
        raise PayloadError(path_of(path, "status"), f"expected 'firing' or 'resolved', got {status[:40]!r}")
    title = text(item, "title", path, required=status == "firing", limit=MAX_TITLE) or key
    labels = string_map(item, "labels", path, lenient=True)
    annotations = string_map(item, "annotations", path, lenient=True)
    service = text(item, "service", path, limit=100) or labels.get("service") or None
    severity = text(item, "severity", path, limit=32) or labels.get("severity") or None
    env = text(item, "environment", path, limit=64) or labels.get("env") or None
    if service:
        labels.setdefault("service", service)
    if severity:
        labels.setdefault("severity", severity)
    labels.setdefault("alertname", title[:200])
    starts = timestamp(item.get("starts_at"), path_of(path, "starts_at"), required=False)
    ends = timestamp(item.get("ends_at"), path_of(path, "ends_at"), required=False)
    group = text(item, "group", path, limit=200)
    return Alert(
        source=SOURCE,
        dedup_key=stable_key(key),
        status=status,  # type: ignore[arg-type]
        starts_at=starts or now,
        ends_at=(ends or now) if status == "resolved" else None,
        title=title,
        summary=text(item, "summary", path),
        labels=labels,
        annotations=annotations,
        service=service,
        severity=severity,
        env=env,
        runbook=text(item, "runbook", path, limit=100) or None,
        links=Links(
            source=url(text(item, "url", path)),
            dashboard=url(text(item, "dashboard_url", path)),
            runbook=url(text(item, "runbook_url", path)),
        ),
        exact_start=starts is not None,
        group_hint=f"group:{group}" if group else f"title:{title[:200]}",
        group_labels={"group": group} if group else {"alertname": title[:200]},
    )
