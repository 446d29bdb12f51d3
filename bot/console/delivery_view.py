"""Delivery trends (/ui/delivery): weekly figures per service (or all), computed with bot.deploys.stats.

Each week runs the same `compute` as `/deploy stats`, over that week's facts, so the console and Slack
agree. The figures are plain data (`Chart`); `bot.console.charts` draws them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.catalog import SEVERITY_ORDER, Catalog
from bot.deploys.stats import FAILURE_WINDOW, Facts, compute, load_facts, pairs_of
from bot.incidents.models import Incident

DEFAULT_WEEKS = 4
WEEK_CHOICES = (1, 2, 4, 8, 12, 26, 52)
WEEK = timedelta(days=7)


@dataclass(frozen=True)
class Series:
    """One line or bar series: a value per week (None where there is nothing to measure)."""

    name: str
    values: list[float | None]


@dataclass(frozen=True)
class Chart:
    """One chart's data: its weeks, series and how its values read."""

    key: str
    title: str
    unit: str
    weeks: list[str]
    series: list[Series]
    stacked: bool = False
    note: str = ""


@dataclass(frozen=True)
class Selection:
    """Which service (None: all), environment and how many weeks the page shows."""

    service: str | None
    env: str
    weeks: int
    problems: tuple[str, ...] = ()


def environments(catalog: Catalog) -> list[str]:
    """Every environment name of the catalog, incident environments first."""
    names = list(catalog.deploys.incident_envs)
    for svc in catalog.services:
        for env in svc.environments:
            if env not in names:
                names.append(env)
    return names


def parse_selection(query: Mapping[str, str], catalog: Catalog) -> Selection:
    """The selection from the query string; values not understood fall back to defaults (reported)."""
    problems = []
    service = query.get("service", "").strip() or None
    if service is not None and catalog.service(service) is None:
        problems.append(f"no service called {service[:60]!r} in the catalog")
        service = None
    envs = environments(catalog)
    env = query.get("env", "").strip() or (envs[0] if envs else "production")
    if envs and env not in envs:
        problems.append(f"env must be one of {', '.join(envs)}")
        env = envs[0]
    raw = query.get("weeks", "").strip()
    weeks = DEFAULT_WEEKS
    if raw:
        if raw.isdigit() and int(raw) in WEEK_CHOICES:
            weeks = int(raw)
        else:
            problems.append(f"weeks must be one of {', '.join(map(str, WEEK_CHOICES))}")
    return Selection(service, env, weeks, tuple(problems))


def _ratio(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def weekly_charts(
    catalog: Catalog,
    selection: Selection,
    facts: Facts,
    severities: Sequence[tuple[str, datetime]],
    now: datetime,
) -> list[Chart]:
    """The five delivery charts of the selection, one value per week (oldest first)."""
    pairs = [p for p in pairs_of(catalog, selection.service) if p[1] == selection.env]
    starts = [now - WEEK * (selection.weeks - n) for n in range(selection.weeks)]
    labels = [f"{start:%b %d}" for start in starts]
    deploys: list[float | None] = []
    cfr: list[float | None] = []
    rollback: list[float | None] = []
    restore: list[float | None] = []
    for start in starts:
        end = start + WEEK
        rows = compute(
            pairs,
            [c for c in facts.changes if start - FAILURE_WINDOW * 2 <= c.at < end],
            [r for r in facts.rollbacks if start <= r.at < end],
            [i for i in facts.incidents if start <= i.declared_at < end],
            start=start,
            days=7,
            incident_envs=catalog.deploys.incident_envs,
        )
        count = sum(r.deploys for r in rows)
        deploys.append(float(count))
        cfr.append(_ratio(sum(r.failed_changes for r in rows), count))
        rollback.append(_ratio(sum(r.rollbacks for r in rows), count))
        restored = sum(r.restored for r in rows)
        total = sum((r.restore_seconds or 0.0) * r.restored for r in rows)
        restore.append(round(total / restored / 3600.0, 2) if restored else None)
    per_severity = {name: [0] * len(starts) for name in SEVERITY_ORDER}
    for severity, at in severities:
        index = int((at - starts[0]) / WEEK) if at >= starts[0] else -1
        if 0 <= index < len(starts) and severity in per_severity:
            per_severity[severity][index] += 1
    scope = selection.service or "all services"
    where = f"{scope}, {selection.env}"
    return [
        Chart("deploys", f"Deploys per week ({where})", "deploys", labels, [Series("deploys", deploys)]),
        Chart(
            "change-failure-rate",
            f"Change failure rate ({where})",
            "%",
            labels,
            [Series("change failure rate", cfr)],
            note="deploys followed within 24 h by a rollback or an incident, per deploy",
        ),
        Chart(
            "rollback-rate",
            f"Rollback rate ({where})",
            "%",
            labels,
            [Series("rollback rate", rollback)],
            note="rollbacks and restores Flare ran, per deploy",
        ),
        Chart(
            "time-to-restore",
            f"Mean time to restore ({scope})",
            "hours",
            labels,
            [Series("time to restore", restore)],
            note="incident declared to resolved, for incidents declared that week",
        ),
        Chart(
            "incidents",
            f"Incidents per severity per week ({scope})",
            "incidents",
            labels,
            [Series(name, [float(v) for v in values]) for name, values in per_severity.items()],
            stacked=True,
        ),
    ]


async def delivery_charts(
    session: AsyncSession, catalog: Catalog, selection: Selection, now: datetime
) -> list[Chart]:
    """Read the facts of the selected weeks and compute the charts."""
    start = now - WEEK * selection.weeks
    facts = await load_facts(session, start, now, selection.service)
    stmt = select(Incident.severity, Incident.declared_at).where(
        Incident.declared_at >= start, Incident.declared_at <= now
    )
    if selection.service is not None:
        stmt = stmt.where(Incident.service == selection.service)
    severities = [(str(s), d) for s, d in (await session.execute(stmt)).all()]
    return weekly_charts(catalog, selection, facts, severities, now)
