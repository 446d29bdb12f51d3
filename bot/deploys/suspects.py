"""Suspects at declaration: the service's deploys shortly before an incident, for its card and timeline.

Called by the incidents declare flow and card refresh, so this module must not import bot.incidents
(live linking of later deploys is in bot/deploys/linking.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.catalog import Catalog
from bot.db.upsert import insert_ignore
from bot.deploys.models import Deploy, DeployLink
from bot.deploys.render import card_suspects, timeline_data, timeline_text
from bot.deploys.views import DeployView, view_of

TIMELINE_KIND = {"deploy": "deploy", "traffic": "traffic_change"}


@dataclass(frozen=True)
class DeclareSuspects:
    """What the declare flow records: card text, timeline events (record_event kwargs), deploy ids."""

    card_text: str | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    deploy_ids: list[int] = field(default_factory=list)


def timeline_event(view: DeployView, *, suspect: str) -> dict[str, Any]:
    """Keyword arguments of incidents.record_event for a deploy at its current status."""
    return {
        "kind": TIMELINE_KIND.get(view.kind, "deploy"),
        "text": timeline_text(view),
        "actor": view.author or "flare",
        "occurred_at": view.at,
        "data": timeline_data(view, suspect=suspect),
        "dedup_key": f"deploy:{view.id}:{view.status}",
    }


async def window(session: AsyncSession, catalog: Catalog, service: str, at: datetime) -> list[DeployView]:
    """The service's deploys and traffic changes (incident environments) active in the window before `at`."""
    since = at - timedelta(minutes=catalog.deploys.suspect_window_minutes)
    rows = await session.execute(
        select(Deploy)
        .where(
            Deploy.service == service,
            Deploy.env.in_(catalog.deploys.incident_envs),
            or_(Deploy.started_at >= since, Deploy.finished_at >= since),
            Deploy.started_at <= at,
        )
        .order_by(Deploy.started_at.desc(), Deploy.id.desc())
        .limit(50)
    )
    return [view_of(row) for row in rows.scalars()]


async def before_declare(
    session: AsyncSession, catalog: Catalog, service: str | None, at: datetime
) -> DeclareSuspects:
    """The suspects of an incident declared at `at` on `service` (nothing without a service)."""
    if not service:
        return DeclareSuspects()
    views = await window(session, catalog, service, at)
    if not views:
        return DeclareSuspects()
    return DeclareSuspects(
        card_text(views, at, catalog),
        [timeline_event(v, suspect="declare") for v in views],
        [v.id for v in views],
    )


async def link_declared(session: AsyncSession, incident_id: int, deploy_ids: list[int], at: datetime) -> None:
    """Remember the declare-time suspects, so their later status changes reach the incident's timeline."""
    for deploy_id in deploy_ids:
        values = {"deploy_id": deploy_id, "incident_id": incident_id, "origin": "declare", "created_at": at}
        await insert_ignore(session, DeployLink, values)


def card_text(views: list[DeployView], declared_at: datetime, catalog: Catalog) -> str | None:
    """The card's suspect section text."""
    return card_suspects(views, declared_at, catalog.deploys.suspect_window_minutes)


async def card_section(
    session: AsyncSession, catalog: Catalog, service: str | None, declared_at: datetime
) -> str | None:
    """The card's suspect section for a card refresh (current statuses of the same window)."""
    if not service:
        return None
    return card_text(await window(session, catalog, service, declared_at), declared_at, catalog)
