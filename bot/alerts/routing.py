"""Which groups an alert joins: the catalog's routes decide channels and severity, then a group key."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from bot.alerts.alert import Alert
from bot.catalog import Catalog
from bot.catalog.routing import RouteDecision, decide


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


class Router:
    """`targets_for`, memoised: decisions by the labels the matchers read, targets by what names the group."""

    def __init__(self, catalog: Catalog, *, size: int = 4096) -> None:
        self.catalog = catalog
        self.size = size
        self._decisions: dict[tuple[str | None, ...], list[RouteDecision]] = {}
        self._targets: dict[tuple[object, ...], list[Target]] = {}
        self._names = catalog.routes.referenced_labels
        self._group_names = catalog.routes.group_by_labels

    def targets(self, alert: Alert) -> list[Target]:
        """Every (route, channel) group the alert goes to."""
        labels = routing_labels(alert)
        key = (alert.severity, alert.service, *(labels.get(name) for name in self._names))
        made_key = (
            key,
            alert.group_hint,
            alert.source,
            alert.title,
            tuple(alert.group_labels.items()),
            *(labels.get(name) for name in self._group_names),
        )
        made = self._targets.get(made_key)
        if made is not None:
            return made
        decisions = self._decisions.get(key)
        if decisions is None:
            if len(self._decisions) >= self.size:
                self._decisions.clear()
            decisions = decide(self.catalog, labels, severity=alert.severity, service=alert.service)
            self._decisions[key] = decisions
        if len(self._targets) >= self.size:
            self._targets.clear()
        made = self._targets[made_key] = _targets(alert, labels, decisions)
        return made


def targets_for(catalog: Catalog, alert: Alert) -> list[Target]:
    """Every (route, channel) group the alert goes to; empty when no route (or default) takes it."""
    labels = routing_labels(alert)
    return _targets(alert, labels, decide(catalog, labels, severity=alert.severity, service=alert.service))


def _targets(alert: Alert, labels: dict[str, str], decisions: list[RouteDecision]) -> list[Target]:
    targets: list[Target] = []
    for decision in decisions:
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
