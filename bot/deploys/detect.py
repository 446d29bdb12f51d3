"""What changed on a Cloud Run service since the watcher last looked: pure functions of two observations."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.cloudrun.models import Revision, ServiceInfo

# A revision that is not Ready yet is looked at again for this long (a deploy in progress).
PENDING_TTL = timedelta(hours=1)


@dataclass(frozen=True)
class Snapshot:
    """The watcher's memory of a service: what served, and up to which revision it has looked."""

    serving: dict[str, int] = field(default_factory=dict)
    seen_until: datetime | None = None
    pending: dict[str, datetime] = field(default_factory=dict)
    latest_created: str | None = None

    def unchanged(self, info: ServiceInfo) -> bool:
        """True when Cloud Run has created no revision since and none is pending: no need to list them."""
        latest = info.latest_created_revision
        return not self.pending and latest is not None and latest == self.latest_created

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form (stored on the watch row)."""
        return {
            "serving": dict(self.serving),
            "seen_until": self.seen_until.isoformat() if self.seen_until else None,
            "pending": {name: at.isoformat() for name, at in self.pending.items()},
            "latest_created": self.latest_created,
        }

    @staticmethod
    def from_json(data: Mapping[str, Any]) -> Snapshot | None:
        """The snapshot stored by `to_json`; None for a target never looked at."""
        if not data:
            return None
        seen = data.get("seen_until")
        return Snapshot(
            serving={str(k): int(v) for k, v in (data.get("serving") or {}).items()},
            seen_until=datetime.fromisoformat(seen) if seen else None,
            pending={str(k): datetime.fromisoformat(v) for k, v in (data.get("pending") or {}).items()},
            latest_created=data.get("latest_created"),
        )


@dataclass(frozen=True)
class Observation:
    """New Ready revisions (oldest first), the traffic change if any, and the snapshot to store."""

    new_ready: list[Revision]
    before: dict[str, int] | None
    after: dict[str, int]
    snapshot: Snapshot

    @property
    def traffic_changed(self) -> bool:
        """True when the serving split differs from the one seen last time."""
        return self.before is not None


def _newest(revisions: Sequence[Revision], floor: datetime | None) -> datetime | None:
    times = [r.created for r in revisions if r.created is not None]
    if floor is not None:
        times.append(floor)
    return max(times) if times else None


def observe(
    previous: Snapshot | None, info: ServiceInfo, revisions: Sequence[Revision], now: datetime
) -> Observation:
    """Compare what Cloud Run says now with the previous snapshot (None: the first look is a baseline).

    `revisions` may be empty when `previous.unchanged(info)`: nothing new was created.
    """
    serving = info.serving()
    latest = info.latest_created_revision
    fresh = [r for r in revisions if r.created is not None and now - r.created < PENDING_TTL]
    if previous is None:
        pending = {r.name: r.created for r in fresh if not r.ready and r.created is not None}
        return Observation([], None, serving, Snapshot(serving, _newest(revisions, None), pending, latest))
    seen = previous.seen_until
    candidates = [
        r
        for r in revisions
        if r.name in previous.pending or (r.created is not None and (seen is None or r.created > seen))
    ]
    new_ready = sorted((r for r in candidates if r.ready), key=lambda r: (r.created or now, r.name))
    pending = {
        r.name: r.created
        for r in candidates
        if not r.ready and r.created is not None and now - r.created < PENDING_TTL
    }
    changed = bool(serving) and serving != previous.serving
    return Observation(
        new_ready,
        dict(previous.serving) if changed else None,
        serving,
        Snapshot(serving if serving else previous.serving, _newest(revisions, seen), pending, latest),
    )


def gained(before: Mapping[str, int], after: Mapping[str, int]) -> set[str]:
    """Revisions whose share of traffic grew."""
    return {name for name, percent in after.items() if percent > before.get(name, 0)}
