"""The services page: per service and environment, what serves now (the watcher's stored state), recent
deploys and rollbacks, and the open incident."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.catalog import Catalog
from bot.console.text import iso, utc_text
from bot.deploys.detect import Snapshot
from bot.deploys.history import entry_time, history
from bot.deploys.models import WatchState
from bot.deploys.views import DeployView, RollbackEntry
from bot.incidents import queries

RECENT = 5


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
    polled_iso: str
    polled_utc: str
    watch_error: str | None
    changes: list[Change]


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


async def service_cards(session: AsyncSession, catalog: Catalog) -> list[ServiceCard]:
    """Every catalog service with its environments."""
    watch = {(w.service, w.env): w for w in (await session.execute(select(WatchState))).scalars()}
    cards = []
    for svc in catalog.services:
        incident = await queries.open_for_service(session, svc.name)
        envs = []
        for env in svc.environments:
            state = watch.get((svc.name, env))
            snapshot = Snapshot.from_json(state.state) if state is not None else None
            serving = sorted((snapshot.serving if snapshot else {}).items(), key=lambda kv: -kv[1])
            recent = await history(session, svc.name, env, RECENT)
            envs.append(
                EnvCard(
                    env=env,
                    serving=serving,
                    polled_iso=iso(state.polled_at) if state else "",
                    polled_utc=utc_text(state.polled_at) if state else "",
                    watch_error=state.last_error if state else None,
                    changes=[_change(e) for e in recent.entries],
                )
            )
        open_incident = (
            (incident.id, incident.human_id, incident.severity, incident.title) if incident else None
        )
        cards.append(ServiceCard(svc.name, svc.team, open_incident, envs))
    return cards
