"""Planning a rollback or traffic change, and the guards that refuse unsafe ones: pure functions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from bot.cloudrun.models import Revision, ServiceInfo
from bot.rollback.allocation import allocation_of, follows_latest, resolved

Kind = Literal["rollback", "traffic", "restore"]
Mode = Literal["default", "to", "steps", "further", "restore", "split"]
GUARD_NOT_READY = "not_ready"
GUARD_ALREADY_SERVING = "already_serving"
GUARD_LOOP = "rolled_away_recently"


class PlanError(ValueError):
    """No plan can be made (unknown revision, nothing older ...); --force does not help."""


@dataclass(frozen=True)
class RevisionFacts:
    """What a confirmation shows about a revision."""

    name: str
    image: str
    created: str | None
    ready: bool
    ready_message: str = ""
    deployer: str | None = None

    @staticmethod
    def of(revision: Revision) -> RevisionFacts:
        """Facts from a Cloud Run revision."""
        return RevisionFacts(
            revision.name,
            revision.image,
            revision.created.isoformat() if revision.created else None,
            revision.ready,
            revision.ready_message,
            revision.deployer,
        )

    @property
    def created_at(self) -> datetime | None:
        """The creation time, parsed."""
        return datetime.fromisoformat(self.created) if self.created else None


@dataclass(frozen=True)
class Guard:
    """A safety check: passed, or failed (and perhaps overridden with --force)."""

    name: str
    ok: bool
    message: str = ""
    overridden: bool = False


@dataclass(frozen=True)
class Plan:
    """From what serves now to the traffic we want, with the facts and guard results."""

    kind: Kind
    before: dict[str, int]
    after: dict[str, int]
    revisions: dict[str, RevisionFacts]
    guards: list[Guard] = field(default_factory=list)
    # When set, the exact allocation to send (a restore: LATEST, percents and tags as they were).
    allocation: list[dict[str, Any]] | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def target(self) -> str | None:
        """The single revision that will serve everything, if this plan has one."""
        if len(self.after) == 1:
            return next(iter(self.after))
        return None

    @property
    def failed_guards(self) -> list[Guard]:
        """Guards that failed and were not overridden."""
        return [g for g in self.guards if not g.ok and not g.overridden]

    @property
    def overridden_guards(self) -> list[Guard]:
        """Guards that failed but --force overrode."""
        return [g for g in self.guards if g.overridden]

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form (stored on the rollback row)."""
        return {
            "kind": self.kind,
            "before": self.before,
            "after": self.after,
            "revisions": {k: vars(v) for k, v in self.revisions.items()},
            "guards": [vars(g) for g in self.guards],
            "allocation": self.allocation,
            "warnings": self.warnings,
        }

    @staticmethod
    def from_json(data: Mapping[str, Any]) -> Plan:
        """The plan stored by `to_json`."""
        return Plan(
            kind=data["kind"],
            before={str(k): int(v) for k, v in data["before"].items()},
            after={str(k): int(v) for k, v in data["after"].items()},
            revisions={k: RevisionFacts(**v) for k, v in data["revisions"].items()},
            guards=[Guard(**g) for g in data.get("guards", [])],
            allocation=data.get("allocation"),
            warnings=list(data.get("warnings") or []),
        )

    def with_guards(self, checks: list[Guard]) -> Plan:
        """The same plan with guards re-run (at Confirm)."""
        return replace(self, guards=checks)


@dataclass(frozen=True)
class RecentChange:
    """A change Flare made lately: what served before it, and when it happened."""

    id: int
    before: dict[str, int]
    at: datetime


@dataclass(frozen=True)
class Request:
    """What the user asked for."""

    mode: Mode = "default"
    to: str | None = None
    steps: int = 1
    splits: dict[str, int] = field(default_factory=dict)
    force: bool = False
    parent_id: int | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {k: v for k, v in vars(self).items() if v not in (None, {}, False)}

    @staticmethod
    def from_json(data: Mapping[str, Any]) -> Request:
        """The request stored by `to_json`."""
        return Request(
            mode=data.get("mode", "default"),
            to=data.get("to"),
            steps=int(data.get("steps", 1)),
            splits={str(k): int(v) for k, v in (data.get("splits") or {}).items()},
            force=bool(data.get("force", False)),
            parent_id=data.get("parent_id"),
        )


def find_revision(revisions: Sequence[Revision], name: str, run_service: str) -> Revision:
    """The revision `name` names: exact, `<service>-<name>`, or a unique suffix."""
    name = name.strip()
    by_name = {r.name: r for r in revisions}
    for candidate in (name, f"{run_service}-{name}"):
        if candidate in by_name:
            return by_name[candidate]
    matches = [r for r in revisions if r.name.endswith(name)] if len(name) >= 3 else []
    if len(matches) == 1:
        return matches[0]
    newest = ", ".join(r.name for r in revisions[:3]) or "none"
    if len(matches) > 1:
        raise PlanError(f"'{name[:80]}' matches {len(matches)} revisions; give more of the name")
    raise PlanError(f"no revision called '{name[:80]}' (newest: {newest}; `--list` shows all)")


def _created(revision: Revision) -> datetime:
    return revision.created or datetime.min.replace(tzinfo=UTC)


def older_ready(revisions: Sequence[Revision], than: Revision) -> list[Revision]:
    """Ready revisions created before `than`, newest first."""
    return [r for r in revisions if r.ready and r.name != than.name and _created(r) < _created(than)]


def newest_serving(info: ServiceInfo, revisions: Sequence[Revision]) -> Revision:
    """The newest revision that serves any traffic."""
    serving = info.serving()
    candidates = [r for r in revisions if r.name in serving]
    if not candidates:
        raise PlanError("cannot tell which revision serves traffic (no traffic status from Cloud Run)")
    return max(candidates, key=_created)


def default_target(info: ServiceInfo, revisions: Sequence[Revision]) -> str | None:
    """The newest Ready revision older than the one serving (None if there is none)."""
    try:
        current = newest_serving(info, revisions)
    except PlanError:
        return None
    older = older_ready(revisions, current)
    return older[0].name if older else None


def choose_after(
    request: Request,
    info: ServiceInfo,
    revisions: Sequence[Revision],
    *,
    parent: Plan | None = None,
    parent_allocation: list[dict[str, Any]] | None = None,
) -> dict[str, int]:
    """The traffic split the request asks for."""
    run_service = info.ref.service
    if request.mode == "to":
        return {find_revision(revisions, request.to or "", run_service).name: 100}
    if request.mode == "split":
        after: dict[str, int] = {}
        for name, percent in request.splits.items():
            revision = find_revision(revisions, name, run_service)
            after[revision.name] = after.get(revision.name, 0) + percent
        return {n: p for n, p in after.items() if p}
    if request.mode == "restore":
        if parent is None:
            raise PlanError("there is no earlier change to restore")
        source = parent_allocation_serving(parent_allocation, info) or parent.before
        for name in source:
            find_revision(revisions, name, run_service)
        return dict(source)
    if request.mode == "further":
        if parent is None or parent.target is None:
            raise PlanError("there is no earlier rollback to go further from")
        reference = find_revision(revisions, parent.target, run_service)
        older = older_ready(revisions, reference)
        if not older:
            raise PlanError(f"no Ready revision is older than {reference.name}")
        return {older[0].name: 100}
    current = newest_serving(info, revisions)
    older = older_ready(revisions, current)
    steps = request.steps if request.mode == "steps" else 1
    if steps < 1:
        raise PlanError("--steps must be 1 or more")
    if len(older) < steps:
        have = f"only {len(older)} Ready revision{'s are' if len(older) != 1 else ' is'}"
        raise PlanError(f"{have} older than {current.name}; cannot go back {steps}")
    return {older[steps - 1].name: 100}


def guards(
    kind: Kind,
    before: Mapping[str, int],
    after: Mapping[str, int],
    revisions: Mapping[str, Revision],
    recent: Sequence[RecentChange],
    *,
    now: datetime,
    window_minutes: int,
    force: bool,
) -> list[Guard]:
    """Check the plan: targets Ready, not already serving, not rolled away from lately."""
    out: list[Guard] = []
    not_ready = [n for n, p in after.items() if p and not revisions[n].ready]
    if not_ready:
        reasons = "; ".join(
            f"{n} is not Ready"
            + (f" ({revisions[n].ready_message[:200]})" if revisions[n].ready_message else "")
            for n in not_ready
        )
        out.append(Guard(GUARD_NOT_READY, False, reasons, force))
    else:
        out.append(Guard(GUARD_NOT_READY, True))
    if dict(before) == dict(after):
        what = (
            next(iter(after)) + " already serves 100% of traffic"
            if len(after) == 1
            else "that split serves now"
        )
        out.append(Guard(GUARD_ALREADY_SERVING, False, what, force))
    else:
        out.append(Guard(GUARD_ALREADY_SERVING, True))
    if kind != "restore" and window_minutes > 0:
        since = now - timedelta(minutes=window_minutes)
        hits: list[tuple[str, int, int]] = []
        for change in sorted(recent, key=lambda c: c.at, reverse=True):
            if change.at < since:
                continue
            for name in after:
                if change.before.get(name) and name not in before and name not in [h[0] for h in hits]:
                    minutes = max(int((now - change.at).total_seconds() // 60), 0)
                    hits.append((name, minutes, change.id))
        if hits:
            text = "; ".join(
                f"Flare moved traffic away from {n} {m} minute{'s' if m != 1 else ''} ago (change #{i})"
                for n, m, i in hits
            )
            out.append(
                Guard(GUARD_LOOP, False, f"{text}: going back to it could start a rollback loop", force)
            )
        else:
            out.append(Guard(GUARD_LOOP, True))
    return out


def parent_allocation_serving(
    allocation: list[dict[str, Any]] | None, info: ServiceInfo
) -> dict[str, int] | None:
    """What a recorded allocation serves today (LATEST resolved to the latest Ready revision)."""
    if not allocation:
        return None
    return resolved(allocation, info.latest_ready_revision)


def latest_warning(info: ServiceInfo, allocation: list[dict[str, Any]] | None) -> list[str]:
    """A warning when the change replaces a LATEST allocation with pinned revisions."""
    if not follows_latest(info) or any(e.get("latest") for e in allocation or []):
        return []
    service = info.ref.service
    return [
        f"{service} follows LATEST now. After this change later deploys will not get traffic until "
        f"someone sends traffic to the latest revision again: `gcloud run services update-traffic "
        f"{service} --to-latest --region {info.ref.region}`, or Restore previous on the result."
    ]


def make_plan(
    kind: Kind,
    request: Request,
    info: ServiceInfo,
    revisions: Sequence[Revision],
    recent: Sequence[RecentChange],
    *,
    now: datetime,
    window_minutes: int,
    parent: Plan | None = None,
    parent_allocation: list[dict[str, Any]] | None = None,
) -> Plan:
    """The whole plan for a request; raises PlanError when none can be made."""
    before = info.serving()
    after = choose_after(request, info, revisions, parent=parent, parent_allocation=parent_allocation)
    allocation = parent_allocation if request.mode == "restore" and parent_allocation else None
    if sum(after.values()) != 100:
        raise PlanError(f"the percentages add up to {sum(after.values())}, not 100")
    by_name = {r.name: r for r in revisions}
    involved = [n for n in [*before, *after] if n in by_name]
    checks = guards(
        kind,
        before,
        after,
        by_name,
        recent,
        now=now,
        window_minutes=window_minutes,
        force=request.force,
    )
    if allocation is not None and allocation_of(info) != allocation:
        # Same revisions, but LATEST or tags differ: putting the allocation back is a real change.
        checks = [
            Guard(GUARD_ALREADY_SERVING, True) if g.name == GUARD_ALREADY_SERVING else g for g in checks
        ]
    facts = {n: RevisionFacts.of(by_name[n]) for n in involved}
    warnings = latest_warning(info, allocation)
    return Plan(kind, dict(before), after, facts, checks, allocation, warnings)
