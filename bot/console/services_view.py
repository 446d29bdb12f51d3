"""The services page: per service and environment, what serves now (the watcher's stored state, or a
live read from Cloud Run with a short timeout where the watcher has none), recent deploys and
rollbacks, and the open incident."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.catalog import Catalog
from bot.cloudrun.gateway import CloudRunError, CloudRunGateway
from bot.cloudrun.models import ServiceRef
from bot.console.text import iso, utc_text
from bot.deploys.detect import Snapshot
from bot.deploys.history import entry_time, history
from bot.deploys.models import WatchState
from bot.deploys.views import DeployView, RollbackEntry
from bot.gate.service import evaluate
from bot.incidents import queries

RECENT = 5
LIVE_TIMEOUT = 2.0
Live = Mapping[tuple[str, str], dict[str, int] | str]


@dataclass(frozen=True)
class Change:
    """A recent deploy, traffic change or rollback."""

    what: str
    status: str
    detail: str
    iso: str
    utc: str


@dataclass(frozen=True)
class EnvCard:
    """One environment of one service."""

    env: str
    serving: list[tuple[str, int]]
    source: str  # "watcher", "Cloud Run (live)" or "" when unknown
    polled_iso: str
    polled_utc: str
    watch_error: str | None
    changes: list[Change]
    gate_open: bool = True
    gate_reason: str = ""


@dataclass(frozen=True)
class ServiceCard:
    """One service: its team, open incident and environments."""

    name: str
    team: str
    open_incident: tuple[int, str, str, str] | None  # id, human id, severity, title
    envs: list[EnvCard]


def _change(entry: DeployView | RollbackEntry) -> Change:
    at = entry_time(entry)
    if isinstance(entry, DeployView):
        what = "deploy" if entry.kind == "deploy" else "traffic change"
        detail = entry.revision or entry.commit_sha or ""
        if entry.author:
            detail = f"{detail} by {entry.author}".strip()
        return Change(what, entry.status, detail, iso(at), utc_text(at))
    return Change(entry.kind, entry.status, f"by {entry.by}" if entry.by else "", iso(at), utc_text(at))


async def watched(session: AsyncSession) -> set[tuple[str, str]]:
    """The (service, env) pairs the deploy watcher has stored a snapshot of."""
    rows = await session.execute(select(WatchState.service, WatchState.env, WatchState.state))
    return {(s, e) for s, e, state in rows.all() if Snapshot.from_json(state) is not None}


async def live_serving(
    gateway: CloudRunGateway, catalog: Catalog, pairs: list[tuple[str, str]], *, timeout: float = LIVE_TIMEOUT
) -> dict[tuple[str, str], dict[str, int] | str]:
    """What serves now, read from Cloud Run for each pair at once; a failure is the reason, as text."""

    async def one(service: str, env: str) -> dict[str, int] | str:
        where = catalog.environment(service, env)
        if where is None:
            return "not in the catalog"
        ref = ServiceRef(where.project, where.region, where.service)
        try:
            info = await asyncio.wait_for(gateway.get_service(ref), timeout=timeout)
        except TimeoutError:
            return f"Cloud Run did not answer within {timeout:g} s"
        except CloudRunError as exc:
            return f"Cloud Run: {exc}"
        return info.serving()

    answers = await asyncio.gather(*(one(s, e) for s, e in pairs))
    return dict(zip(pairs, answers, strict=True))


async def service_cards(
    session: AsyncSession, catalog: Catalog, live: Live | None = None, now: datetime | None = None
) -> list[ServiceCard]:
    """Every catalog service with its environments (`live`: Cloud Run reads for pairs not watched)
    and whether the deploy gate lets a deploy through now."""
    live = live or {}
    now = now or datetime.now(UTC)
    watch = {(w.service, w.env): w for w in (await session.execute(select(WatchState))).scalars()}
    cards = []
    for svc in catalog.services:
        incident = await queries.open_for_service(session, svc.name)
        envs = []
        for env in svc.environments:
            state = watch.get((svc.name, env))
            snapshot = Snapshot.from_json(state.state) if state is not None else None
            read = live.get((svc.name, env))
            source, error = ("watcher", state.last_error if state else None) if snapshot else ("", None)
            shares = snapshot.serving if snapshot else {}
            if snapshot is None and isinstance(read, dict):
                source, shares = "Cloud Run (live)", read
            elif snapshot is None and isinstance(read, str):
                error = read
            serving = sorted(shares.items(), key=lambda kv: -kv[1])
            recent = await history(session, svc.name, env, RECENT)
            gate = await evaluate(session, catalog, svc.name, env, now)
            envs.append(
                EnvCard(
                    env=env,
                    serving=serving,
                    source=source,
                    polled_iso=iso(state.polled_at) if snapshot and state else "",
                    polled_utc=utc_text(state.polled_at) if snapshot and state else "",
                    watch_error=error,
                    changes=[_change(e) for e in recent.entries],
                    gate_open=gate.open,
                    gate_reason=gate.reason,
                )
            )
        open_incident = (
            (incident.id, incident.human_id, incident.severity, incident.title) if incident else None
        )
        cards.append(ServiceCard(svc.name, svc.team, open_incident, envs))
    return cards
