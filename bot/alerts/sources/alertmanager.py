"""Alertmanager webhook v4 (and the Alertmanager-shaped part of Grafana's payload)."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from bot.alerts.alert import Alert, Links, Parsed
from bot.alerts.parsing import (
    MAX_TITLE,
    PayloadError,
    array,
    is_zero_time,
    obj,
    path_of,
    stable_key,
    string_map,
    text,
    timestamp,
    url,
)

SERVICE_LABELS = ("service", "app", "job")
ENV_LABELS = ("env", "environment")


def parse(payload: Any, now: datetime, *, source: str = "alertmanager") -> Parsed:
    """Alertmanager's `{alerts: [...], groupKey, groupLabels, ...}` into Alerts."""
    body = obj(payload, "body")
    alerts = array(body, "alerts", "")
    group_key = text(body, "groupKey", "", limit=2000)
    group_labels = string_map(body, "groupLabels", "")
    common = string_map(body, "commonLabels", "")
    common_annotations = string_map(body, "commonAnnotations", "")
    external = url(text(body, "externalURL", ""))
    out = [
        parse_alert(
            raw,
            path_of("alerts", i),
            now,
            source=source,
            group_key=group_key,
            group_labels=group_labels or common,
            common_annotations=common_annotations,
            external_url=external,
        )
        for i, raw in enumerate(alerts)
    ]
    truncated = body.get("truncatedAlerts")
    if truncated is not None and (
        not isinstance(truncated, int) or isinstance(truncated, bool) or truncated < 0
    ):
        raise PayloadError("truncatedAlerts", "expected a non-negative integer")
    return Parsed(out, ignored=None if out else "the payload has no alerts", truncated=truncated or 0)


def parse_alert(
    raw: Any,
    path: str,
    now: datetime,
    *,
    source: str,
    group_key: str,
    group_labels: dict[str, str],
    common_annotations: dict[str, str],
    external_url: str | None,
) -> Alert:
    """One entry of `alerts`."""
    item = obj(raw, path)
    labels = string_map(item, "labels", path)
    annotations = {**common_annotations, **string_map(item, "annotations", path)}
    status = text(item, "status", path).lower() or "firing"
    if status not in ("firing", "resolved"):
        raise PayloadError(path_of(path, "status"), f"expected 'firing' or 'resolved', got {status[:40]!r}")
    starts = timestamp(item.get("startsAt"), path_of(path, "startsAt"))
    assert starts is not None
    ends = timestamp(item.get("endsAt"), path_of(path, "endsAt"), required=False)
    if is_zero_time(ends):
        ends = None
    if status == "resolved" and ends is None:
        ends = now
    fingerprint = text(item, "fingerprint", path, limit=200) or _fingerprint(labels)
    title = labels.get("alertname") or annotations.get("summary") or "alert"
    runbook_url = url(annotations.get("runbook_url", "") or annotations.get("runbook", ""))
    runbook_name = annotations.get("runbook") or labels.get("runbook") or ""
    links = Links(
        generator=url(text(item, "generatorURL", path)),
        dashboard=url(text(item, "dashboardURL", path)) or url(annotations.get("dashboard", "")),
        panel=url(text(item, "panelURL", path)),
        silence=url(text(item, "silenceURL", path)) or _silence_url(external_url, labels),
        runbook=runbook_url,
    )
    return Alert(
        source=source,
        dedup_key=stable_key(fingerprint),
        status=status,  # type: ignore[arg-type]
        starts_at=starts,
        ends_at=ends,
        title=title[:MAX_TITLE],
        summary=annotations.get("summary")
        or annotations.get("description")
        or annotations.get("message", ""),
        labels=labels,
        annotations=annotations,
        service=_first(labels, SERVICE_LABELS),
        severity=labels.get("severity") or labels.get("priority"),
        env=_first(labels, ENV_LABELS),
        runbook=runbook_name[:100] if runbook_name and url(runbook_name) is None else None,
        links=links,
        exact_start=True,
        group_hint=group_key,
        group_labels=group_labels,
    )


def _first(labels: dict[str, str], names: tuple[str, ...]) -> str | None:
    for name in names:
        value = labels.get(name)
        if value:
            return value[:100]
    return None


def _fingerprint(labels: dict[str, str]) -> str:
    """A stand-in for Alertmanager's fingerprint when a sender leaves it out: a digest of the labels."""
    canonical = "\x1f".join(f"{k}\x1e{v}" for k, v in sorted(labels.items()))
    return "labels:" + hashlib.sha256(canonical.encode()).hexdigest()[:32]


def _silence_url(external: str | None, labels: dict[str, str]) -> str | None:
    if not external or "alertname" not in labels:
        return None
    return f"{external.rstrip('/')}/#/silences/new"
