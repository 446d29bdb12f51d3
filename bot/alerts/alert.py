"""The normalised alert every source is parsed into."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

Status = Literal["firing", "resolved"]
SOURCES = ("alertmanager", "grafana", "gcp_monitoring", "sentry", "pagerduty", "generic")


# Not frozen: a frozen dataclass sets each field through object.__setattr__, which made building the
# alerts of a 100-alert payload cost more than parsing them. Treat both as read-only all the same.
@dataclass(slots=True)
class Links:
    """Where to look: the alert's own page, its dashboard, how to silence it, its runbook."""

    source: str | None = None
    generator: str | None = None
    dashboard: str | None = None
    panel: str | None = None
    silence: str | None = None
    runbook: str | None = None

    def as_dict(self) -> dict[str, str]:
        """Only the links that are set."""
        pairs = (
            ("source", self.source),
            ("generator", self.generator),
            ("dashboard", self.dashboard),
            ("panel", self.panel),
            ("silence", self.silence),
            ("runbook", self.runbook),
        )
        return {name: value for name, value in pairs if value}


@dataclass(slots=True)
class Alert:
    """One alert occurrence from any source.

    (source, dedup_key, starts_at) identifies an occurrence. `exact_start` says whether the source's
    start time is stable across retries and resolves (Alertmanager, Grafana, GCP, Sentry metric
    alerts); when it is not, a resolve closes whatever occurrence of `dedup_key` is open.
    """

    source: str
    dedup_key: str
    status: Status
    starts_at: datetime
    ends_at: datetime | None
    title: str
    summary: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    service: str | None = None
    severity: str | None = None
    env: str | None = None
    runbook: str | None = None
    links: Links = field(default_factory=Links)
    exact_start: bool = True
    # How the source itself grouped this alert (Alertmanager's groupKey), and the labels it grouped by.
    group_hint: str = ""
    group_labels: dict[str, str] = field(default_factory=dict)

    @property
    def identity(self) -> tuple[str, str, datetime]:
        """(source, dedup_key, starts_at): what makes a delivery the same occurrence."""
        return (self.source, self.dedup_key, self.starts_at)


@dataclass(frozen=True)
class Parsed:
    """What a parser made of one request: alerts to store, and a reason when it stores none."""

    alerts: list[Alert]
    ignored: str | None = None
    # A per-delivery idempotency key (PagerDuty X-Webhook-Id, Sentry Request-ID), if the source has one.
    delivery_key: str | None = None
    # The vendor's "send a test notification" (GCP, Grafana's Test contact point, PagerDuty's ping): the
    # alerts are only used to route a short confirmation, never stored.
    test: bool = False
    # Alerts the source left out of this notification (Alertmanager's truncatedAlerts, max_alerts).
    truncated: int = 0
