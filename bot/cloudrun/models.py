"""Plain values describing Cloud Run services, revisions and traffic."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class ServiceRef:
    """Where a service lives: project, region and Cloud Run service name."""

    project: str
    region: str
    service: str

    @property
    def name(self) -> str:
        """The full resource name."""
        return f"projects/{self.project}/locations/{self.region}/services/{self.service}"

    def __str__(self) -> str:
        return f"{self.service} in {self.project}/{self.region}"


@dataclass(frozen=True)
class TrafficSplit:
    """A share of traffic: to a named revision, or to whatever is latest (`latest=True`)."""

    percent: int
    revision: str | None = None
    latest: bool = False
    tag: str | None = None


@dataclass(frozen=True)
class Revision:
    """One revision of a service."""

    name: str
    image: str
    created: datetime | None
    ready: bool
    ready_message: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)

    @property
    def deployer(self) -> str | None:
        """Who deployed it, when a label or annotation says."""
        for source in (self.annotations, self.labels):
            for key in (
                "flare.dev/deployer",
                "deployer",
                "serving.knative.dev/creator",
                "run.googleapis.com/creator",
                "commit-author",
            ):
                if source.get(key):
                    return source[key]
        return None


@dataclass(frozen=True)
class ServiceInfo:
    """A service and how its traffic is configured and actually routed."""

    ref: ServiceRef
    uri: str
    latest_ready_revision: str | None
    latest_created_revision: str | None
    traffic: list[TrafficSplit]
    traffic_statuses: list[TrafficSplit]
    generation: int = 0
    ready: bool = True
    ready_message: str = ""

    def serving(self) -> dict[str, int]:
        """Revision name -> percent actually serving (from traffic_statuses)."""
        shares: dict[str, int] = {}
        for split in self.traffic_statuses or self.traffic:
            name = split.revision or (self.latest_ready_revision if split.latest else None)
            if name and split.percent:
                shares[name] = shares.get(name, 0) + split.percent
        return shares

    def tags(self) -> dict[str, str]:
        """Revision name -> traffic tag, for revisions that have one."""
        out: dict[str, str] = {}
        for split in [*self.traffic, *self.traffic_statuses]:
            name = split.revision or (self.latest_ready_revision if split.latest else None)
            if name and split.tag:
                out.setdefault(name, split.tag)
        return out
