"""One incident (/ui/incidents/INC-n): the card, roles, a page of the timeline, action items, alerts, deploys.

The timeline is read with the post-mortem's loader (one query for 10,000 events) and only the page shown
is turned into rows with links, so a long incident renders as quickly as a short one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.alerts.models import AlertGroup
from bot.catalog import Catalog
from bot.console.text import between, channel_app_url, channel_web_url, iso, utc_text
from bot.console.timeline_page import read_page
from bot.deploys.models import Deploy, DeployLink
from bot.deploys.views import view_of
from bot.incidents import queries
from bot.incidents.lifecycle import status_label
from bot.incidents.models import Incident
from bot.people import directory
from bot.postmortem import load
from bot.postmortem.links import SlackLinks, link_pairs
from bot.postmortem.markdown import safe_url

TIMELINE_PAGE = 200


@dataclass(frozen=True)
class Field:
    """A labelled value of the card (times carry their ISO form for the viewer's zone)."""

    label: str
    value: str
    iso: str = ""


@dataclass(frozen=True)
class EventRow:
    """One timeline event with its links."""

    id: int
    iso: str
    utc: str
    kind: str
    actor: str | None
    text: str
    links: list[tuple[str, str]]


@dataclass(frozen=True)
class ActionRow:
    """An action item."""

    text: str
    owner: str | None
    status: str


@dataclass(frozen=True)
class AlertRow:
    """A linked alert group."""

    id: int
    title: str
    source: str
    severity: str
    firing: int
    total: int
    first_seen_iso: str
    first_seen_utc: str
    resolved: bool


@dataclass(frozen=True)
class DeployRow:
    """A suspect deploy."""

    id: int
    label: str
    status: str
    revision: str | None
    author: str | None
    commit_url: str | None
    pipeline_url: str | None
    started_iso: str
    started_utc: str
    origin: str


@dataclass(frozen=True)
class IncidentPage:
    """Everything /ui/incidents/INC-n shows."""

    id: int
    human_id: str
    title: str
    severity: str
    status: str
    status_label: str
    description: str
    summary: str | None
    fields: list[Field]
    roles: list[Field]
    channel_name: str
    channel_web: str | None
    channel_app: str | None
    events: list[EventRow]
    event_total: int
    page_start: int
    next_after: int | None
    previous_after: int | None
    actions: list[ActionRow]
    alerts: list[AlertRow]
    deploys: list[DeployRow]


def _time_field(label: str, at: datetime | None) -> Field | None:
    return Field(label, utc_text(at), iso(at)) if at is not None else None


async def incident_page(
    session: AsyncSession,
    catalog: Catalog,
    incident: Incident,
    *,
    now: datetime,
    team: str | None,
    after: int | None,
    page_size: int = TIMELINE_PAGE,
) -> IncidentPage:
    """The incident page; `after` is the id of the last event of the previous timeline page."""
    workspace = catalog.incidents.slack_workspace_url
    timeline = await read_page(session, incident.id, after=after, page_size=page_size)
    shown = timeline.events
    # Status notices pair with their channel posts in timeline order, so all of them are given.
    refs = await load.page_references(session, incident, timeline.notices, shown, workspace_url=workspace)
    slack = SlackLinks.of(refs, workspace)
    people = (
        incident.commander,
        incident.comms,
        incident.declared_by,
        incident.acknowledged_by,
        incident.mitigated_by,
        incident.resolved_by,
    )
    # People by display name (the people table, filled from users.info); the id when Slack cannot say.
    known = await directory.names(session, directory.user_ids([*(e.actor for e in shown), *people]))
    cache: dict[object, str | None] = {}
    rows = [
        EventRow(
            id=e.id,
            iso=iso(e.occurred_at),
            utc=utc_text(e.occurred_at),
            kind=e.kind,
            actor=known.get(e.actor, e.actor) if e.actor else e.actor,
            text=e.text,
            links=link_pairs(e, incident.id, slack, cache),
        )
        for e in shown
    ]
    channel = (await queries.channel_ids(session, [incident])).get(incident.id)
    fields = [
        f
        for f in (
            Field("Severity", incident.severity),
            Field("Status", status_label(incident.status)),
            Field("Service", incident.service or "none"),
            Field("Source", incident.source),
            _time_field("Impact started", incident.impact_started_at),
            _time_field("Declared", incident.declared_at),
            _time_field("Acknowledged", incident.acknowledged_at),
            _time_field("Mitigated", incident.mitigated_at),
            _time_field("Resolved", incident.resolved_at),
            Field("Duration", between(incident.declared_at, incident.resolved_at, now)),
        )
        if f is not None
    ]
    roles = [
        Field(label, known.get(user, user))
        for label, user in (
            ("Commander", incident.commander),
            ("Comms", incident.comms),
            ("Declared by", incident.declared_by),
            ("Acknowledged by", incident.acknowledged_by),
            ("Mitigated by", incident.mitigated_by),
            ("Resolved by", incident.resolved_by),
        )
        if user
    ]
    return IncidentPage(
        id=incident.id,
        human_id=incident.human_id,
        title=incident.title,
        severity=incident.severity,
        status=incident.status,
        status_label=status_label(incident.status),
        description=incident.description or "",
        summary=incident.summary,
        fields=fields,
        roles=roles,
        channel_name=incident.channel_name,
        channel_web=channel_web_url(workspace, channel),
        channel_app=channel_app_url(team, channel),
        events=rows,
        event_total=timeline.total,
        page_start=timeline.start,
        next_after=timeline.next_after,
        previous_after=timeline.previous_after,
        actions=[
            ActionRow(a.text, a.owner, a.status) for a in await queries.action_items(session, incident.id)
        ],
        alerts=await _alert_groups(session, incident.id),
        deploys=await _suspects(session, incident.id),
    )


async def _alert_groups(session: AsyncSession, incident_id: int) -> list[AlertRow]:
    rows = await session.execute(
        select(AlertGroup).where(AlertGroup.incident_id == incident_id).order_by(AlertGroup.id).limit(100)
    )
    return [
        AlertRow(
            id=g.id,
            title=g.title,
            source=g.source,
            severity=g.severity,
            firing=g.firing,
            total=g.total,
            first_seen_iso=iso(g.first_seen),
            first_seen_utc=utc_text(g.first_seen),
            resolved=g.resolved_at is not None,
        )
        for g in rows.scalars()
    ]


async def _suspects(session: AsyncSession, incident_id: int) -> list[DeployRow]:
    rows = await session.execute(
        select(Deploy, DeployLink.origin)
        .join(DeployLink, DeployLink.deploy_id == Deploy.id)
        .where(DeployLink.incident_id == incident_id)
        .order_by(Deploy.started_at.desc())
        .limit(100)
    )
    out = []
    for deploy, origin in rows.all():
        v = view_of(deploy)
        out.append(
            DeployRow(
                id=v.id,
                label=v.label,
                status=v.status,
                revision=v.revision,
                author=v.author,
                commit_url=safe_url(v.commit_url) if v.commit_url else None,
                pipeline_url=safe_url(v.pipeline_url) if v.pipeline_url else None,
                started_iso=iso(v.started_at),
                started_utc=utc_text(v.started_at),
                origin=origin,
            )
        )
    return out
