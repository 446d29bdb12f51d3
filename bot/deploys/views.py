"""Plain values the deploy renderers take (no database access in renderers)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.deploys.models import Deploy


@dataclass(frozen=True)
class DeployView:
    """What the renderers need from a deploy row."""

    id: int
    kind: str
    service: str
    env: str
    source: str
    status: str
    revision: str | None
    image: str | None
    commit_sha: str | None
    commit_url: str | None
    author: str | None
    pipeline_url: str | None
    message: str | None
    before: dict[str, int] | None
    after: dict[str, int] | None
    started_at: datetime
    finished_at: datetime | None

    @property
    def label(self) -> str:
        """'checkout (production)'."""
        return f"{self.service} ({self.env})"

    @property
    def seconds(self) -> float | None:
        """How long the deploy took, when both ends are known."""
        if self.finished_at is None or self.finished_at <= self.started_at:
            return None
        return (self.finished_at - self.started_at).total_seconds()

    @property
    def at(self) -> datetime:
        """When it happened (finished, else started)."""
        return self.finished_at or self.started_at


def view_of(row: Deploy) -> DeployView:
    """The renderer's view of a stored deploy."""
    traffic = row.traffic or {}
    before = traffic.get("before")
    after = traffic.get("after")
    return DeployView(
        id=row.id,
        kind=row.kind,
        service=row.service,
        env=row.env,
        source=row.source,
        status=row.status,
        revision=row.revision,
        image=row.image,
        commit_sha=row.commit_sha,
        commit_url=row.commit_url,
        author=row.author,
        pipeline_url=row.pipeline_url,
        message=row.message,
        before={str(k): int(v) for k, v in before.items()} if isinstance(before, dict) else None,
        after={str(k): int(v) for k, v in after.items()} if isinstance(after, dict) else None,
        started_at=row.started_at,
        finished_at=row.finished_at,
    )


@dataclass(frozen=True)
class RollbackEntry:
    """A rollback or traffic change Flare made, as /deploy history lists it."""

    id: int
    kind: str
    env: str
    status: str
    by: str
    before: dict[str, int]
    after: dict[str, int]
    at: datetime
