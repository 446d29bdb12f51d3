"""Delivery metrics per service and environment over a window (default 30 days).

- deploy frequency: successful deploys (pipeline or watcher) per day;
- change failure rate: the share of those deploys followed within 24 h by a Flare rollback (same
  service and environment) or an incident on the service (deploys in `deploys.incident_envs`). Each
  rollback or incident is charged to the most recent deploy before it, so one bad change counts once;
- rollback rate: Flare rollbacks and restores that ran, per deploy;
- mean time to restore: incident declared to resolved, for incidents declared in the window.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.catalog import Catalog
from bot.container import Container
from bot.deploys.models import Deploy
from bot.incidents.models import Incident
from bot.rollback.models import Rollback

DEFAULT_DAYS = 30
FAILURE_WINDOW = timedelta(hours=24)
ROLLBACK_KINDS = ("rollback", "restore")


@dataclass(frozen=True)
class Change:
    """A successful deploy."""

    id: int
    service: str
    env: str
    at: datetime


@dataclass(frozen=True)
class Failure:
    """A rollback (of one environment) or an incident (of the service, env None) after a change."""

    service: str
    env: str | None
    at: datetime


@dataclass(frozen=True)
class Restore:
    """An incident on a service: declared, and resolved (or not yet)."""

    service: str
    declared_at: datetime
    resolved_at: datetime | None


@dataclass(frozen=True)
class DeliveryStats:
    """The four delivery metrics of one service in one environment, with their counts."""

    service: str
    env: str
    days: int
    deploys: int
    failed_changes: int
    rollbacks: int
    incidents: int
    restored: int
    restore_seconds: float | None

    @property
    def per_day(self) -> float:
        """Deploys per day."""
        return self.deploys / self.days

    @property
    def change_failure_rate(self) -> float | None:
        """Failed changes / deploys (None without deploys)."""
        return self.failed_changes / self.deploys if self.deploys else None

    @property
    def rollback_rate(self) -> float | None:
        """Rollbacks / deploys (None without deploys)."""
        return self.rollbacks / self.deploys if self.deploys else None


def compute(
    pairs: Sequence[tuple[str, str]],
    changes: Sequence[Change],
    rollbacks: Sequence[Failure],
    incidents: Sequence[Restore],
    *,
    start: datetime,
    days: int,
    incident_envs: Sequence[str],
) -> list[DeliveryStats]:
    """The metrics of each (service, env) pair from the facts (changes may start 24 h before `start`)."""
    by_service: dict[str, list[Change]] = defaultdict(list)
    for change in changes:
        by_service[change.service].append(change)
    # Per (service, env): the changes sorted by time (ties in input order), with their times for
    # bisect, so charging a failure costs a binary search instead of a scan of every change.
    timelines: dict[tuple[str, str], tuple[list[datetime], list[Change]]] = {}
    for service, of_service in by_service.items():
        for env in {ch.env for ch in of_service}:
            ordered = sorted((ch for ch in of_service if ch.env == env), key=lambda ch: ch.at)
            timelines[(service, env)] = ([ch.at for ch in ordered], ordered)
    order = {id(ch): n for n, ch in enumerate(changes)}
    failed: set[Change] = set()
    failures = [*rollbacks, *(Failure(i.service, None, i.declared_at) for i in incidents)]
    for failure in failures:
        if failure.at < start:
            continue
        envs = [failure.env] if failure.env is not None else incident_envs
        best: Change | None = None
        for env in envs:
            found = timelines.get((failure.service, env))
            if found is None:
                continue
            times, ordered = found
            index = bisect_right(times, failure.at)
            if index == 0 or failure.at - times[index - 1] > FAILURE_WINDOW:
                continue
            # The most recent change before the failure; among changes at the same moment, the first given.
            candidate = ordered[bisect_left(times, times[index - 1])]
            if (
                best is None
                or candidate.at > best.at
                or (candidate.at == best.at and order[id(candidate)] < order[id(best)])
            ):
                best = candidate
        if best is not None:
            failed.add(best)
    out = []
    for service, env in pairs:
        counted = [ch for ch in by_service.get(service, []) if ch.env == env and ch.at >= start]
        ran = [r for r in rollbacks if r.service == service and r.env == env and r.at >= start]
        mine = [i for i in incidents if i.service == service and i.declared_at >= start]
        if env not in incident_envs:
            mine = []
        restored = [(i.resolved_at - i.declared_at).total_seconds() for i in mine if i.resolved_at]
        out.append(
            DeliveryStats(
                service=service,
                env=env,
                days=days,
                deploys=len(counted),
                failed_changes=sum(1 for ch in counted if ch in failed),
                rollbacks=len(ran),
                incidents=len(mine),
                restored=len(restored),
                restore_seconds=sum(restored) / len(restored) if restored else None,
            )
        )
    return out


def pairs_of(catalog: Catalog, service: str | None = None) -> list[tuple[str, str]]:
    """Every (service, env) of the catalog, or of one service."""
    return [
        (s.name, env)
        for s in catalog.services
        if service is None or s.name == service
        for env in s.environments
    ]


@dataclass(frozen=True)
class Facts:
    """What the metrics are computed from: changes (from 48 h before the start), rollbacks, incidents."""

    changes: list[Change]
    rollbacks: list[Failure]
    incidents: list[Restore]


async def load_facts(
    session: AsyncSession, start: datetime, now: datetime, service: str | None = None
) -> Facts:
    """The deploys, rollbacks and incidents that count for a window from `start` to `now`."""
    deploys = select(Deploy.id, Deploy.service, Deploy.env, Deploy.started_at, Deploy.finished_at).where(
        Deploy.kind == "deploy",
        Deploy.status == "succeeded",
        Deploy.started_at >= start - FAILURE_WINDOW * 2,
        Deploy.started_at <= now,
    )
    rollbacks = select(Rollback.service, Rollback.env, Rollback.started_at).where(
        Rollback.kind.in_(ROLLBACK_KINDS),
        Rollback.started_at >= start,
        Rollback.started_at <= now,
    )
    incidents = select(Incident.service, Incident.declared_at, Incident.resolved_at).where(
        Incident.service.is_not(None), Incident.declared_at >= start, Incident.declared_at <= now
    )
    if service is not None:
        deploys = deploys.where(Deploy.service == service)
        rollbacks = rollbacks.where(Rollback.service == service)
        incidents = incidents.where(Incident.service == service)
    changes = [
        Change(i, s, e, finished or started)
        for i, s, e, started, finished in (await session.execute(deploys)).all()
        if (finished or started) <= now
    ]
    ran = [Failure(s, e, at) for s, e, at in (await session.execute(rollbacks)).all() if at is not None]
    declared = [Restore(str(s), d, r) for s, d, r in (await session.execute(incidents)).all()]
    return Facts(changes, ran, declared)


async def delivery_stats(
    session: AsyncSession,
    catalog: Catalog,
    now: datetime,
    days: int = DEFAULT_DAYS,
    service: str | None = None,
) -> list[DeliveryStats]:
    """The metrics over the `days` before `now`, per service and environment (one service if given)."""
    start = now - timedelta(days=days)
    facts = await load_facts(session, start, now, service)
    return compute(
        pairs_of(catalog, service),
        facts.changes,
        facts.rollbacks,
        facts.incidents,
        start=start,
        days=days,
        incident_envs=catalog.deploys.incident_envs,
    )


async def refresh_gauges(c: Container) -> None:
    """Set the delivery gauges on /metrics (default window) from the database."""
    async with c.db.sessions() as session:
        rows = await delivery_stats(session, c.catalog, c.clock.now())
    m = c.metrics
    gauges = (
        m.delivery_deploys,
        m.deploy_frequency,
        m.change_failure_rate,
        m.rollback_rate,
        m.time_to_restore,
    )
    for gauge in gauges:
        gauge.clear()
    for row in rows:
        labels = (row.service, row.env)
        m.delivery_deploys.labels(*labels).set(row.deploys)
        m.deploy_frequency.labels(*labels).set(row.per_day)
        if row.change_failure_rate is not None:
            m.change_failure_rate.labels(*labels).set(row.change_failure_rate)
        if row.rollback_rate is not None:
            m.rollback_rate.labels(*labels).set(row.rollback_rate)
        if row.restore_seconds is not None:
            m.time_to_restore.labels(*labels).set(row.restore_seconds)
