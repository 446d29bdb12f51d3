"""Which groups an alert joins: the catalog's routes decide channels and severity, then a group key."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from bot.alerts.alert import Alert
from bot.catalog import Catalog
from bot.catalog.routing import decide


@dataclass(frozen=True, slots=True)
class Target:
    """One group message an alert belongs to."""

    route: str
    channel: str
    group_key: str
    severity: str
    mention: str | None
    auto_declare: bool
    group_labels: tuple[tuple[str, str], ...]


def routing_labels(alert: Alert) -> dict[str, str]:
    """The labels matchers see: the alert's own, plus `source`, and `service`/`severity` when known."""
    labels = dict(alert.labels)
    labels.setdefault("source", alert.source)
    if alert.service:
        labels.setdefault("service", alert.service)
    if alert.severity:
        labels.setdefault("severity", alert.severity)
    if alert.env:
        labels.setdefault("env", alert.env)
    return labels


def targets_for(catalog: Catalog, alert: Alert) -> list[Target]:
    """Every (route, channel) group the alert goes to; empty when no route (or default) takes it."""
    labels = routing_labels(alert)
    targets: list[Target] = []
    for decision in decide(catalog, labels, severity=alert.severity, service=alert.service):
        if decision.group_by:
            grouped = tuple((name, labels.get(name, "")) for name in decision.group_by)
            material = "labels:" + "\x1f".join(f"{k}={v}" for k, v in grouped)
        else:
            grouped = tuple(sorted(alert.group_labels.items()))
            material = alert.group_hint or f"title:{alert.source}:{alert.title}"
        digest = hashlib.sha256(f"{decision.route}\x1e{material}".encode()).hexdigest()
        for channel in decision.channels:
            targets.append(
                Target(
                    route=decision.route,
                    channel=channel,
                    group_key=digest,
                    severity=decision.severity,
                    mention=decision.mention,
                    auto_declare=decision.auto_declare,
                    group_labels=grouped,
                )
            )
    return targets
