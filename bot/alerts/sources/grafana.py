"""Grafana unified alerting: Alertmanager-shaped, plus title/message/state and per-alert URLs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.alerts.alert import Parsed
from bot.alerts.parsing import obj, text
from bot.alerts.sources import alertmanager


def parse(payload: Any, now: datetime) -> Parsed:
    """Grafana's webhook body into Alerts (dashboard, panel and silence links come per alert)."""
    body = obj(payload, "body")
    text(body, "title", "")  # type-checked only: a non-string title is a malformed payload
    text(body, "message", "")
    parsed = alertmanager.parse(body, now, source="grafana")
    # A contact point's "Test" button sends Grafana's fixed TestAlert from instance "Grafana".
    test = bool(parsed.alerts) and all(
        a.labels.get("alertname") == "TestAlert" and a.labels.get("instance") == "Grafana"
        for a in parsed.alerts
    )
    return Parsed(parsed.alerts, parsed.ignored, parsed.delivery_key, test=test, truncated=parsed.truncated)
