"""Storing deploy events and announcing them: one message per deploy, updated as its status changes.

A delivery is matched to its deploy by the sender's key (deploy id, pipeline URL or revision) or by
its Cloud Run revision, so retries, late events and the watcher never make a second deploy.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.catalog import Catalog
from bot.container import Container
from bot.deploys.linking import link_live
from bot.deploys.models import TERMINAL, Deploy
from bot.deploys.render import deploy_message, message_key
from bot.deploys.schema import DeployEvent, SchemaError, revision_key
from bot.deploys.views import view_of
from bot.slack.outbox import enqueue, lane_for, post_message, update_message

# Fields a later delivery may fill in or correct (the revision is handled on its own: it is unique).
_DETAILS = ("image", "commit_sha", "commit_url", "author", "pipeline_url", "message")


@dataclass(frozen=True)
class Outcome:
    """What one delivery did: created or updated a deploy, or nothing (duplicate / ignored)."""

    deploy_id: int
    status: str
    result: str
    reason: str = ""
    status_changed: bool = False

    @property
    def changed(self) -> bool:
        """True when the delivery changed what is stored."""
        return self.result in ("created", "updated")


def check_target(catalog: Catalog, service: str, env: str) -> None:
    """SchemaError naming `service` or `env` (and listing the known ones) unless the catalog has it."""
    svc = catalog.service(service)
    if svc is None:
        known = ", ".join(s.name for s in catalog.services) or "none: add services to the catalog"
        raise SchemaError("service", f"unknown service '{service}' (known services: {known})")
    if env not in svc.environments:
        known = ", ".join(sorted(svc.environments))
        raise SchemaError("env", f"{service} has no environment '{env}' (known environments: {known})")


def announce_channels(catalog: Catalog, service: str) -> list[str]:
    """The deployments channel and (unless disabled) the owning team's channel, without repeats."""
    channels: list[str] = []
    if catalog.channels.deployments:
        channels.append(catalog.channels.deployments)
    team = catalog.team_for(service)
    if catalog.deploys.team_channel and team is not None and team.channel not in channels:
        channels.append(team.channel)
    return channels


async def find(
    session: AsyncSession, service: str, env: str, *, key: str | None = None, revision: str | None = None
) -> Deploy | None:
    """The deploy with this key, else the one with this revision; locked for the transaction (PostgreSQL)."""
    for column, value in ((Deploy.key, key), (Deploy.revision, revision)):
        if value is None:
            continue
        stmt = (
            select(Deploy)
            .where(Deploy.service == service, Deploy.env == env, column == value)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        row = (await session.execute(stmt)).scalar_one_or_none()
        if row is not None:
            return row
    return None


async def insert_returning_id(session: AsyncSession, values: dict[str, Any]) -> int | None:
    """INSERT the deploy unless its key or revision is taken (also concurrently); its id, else None."""
    table = cast(Table, Deploy.__table__)
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = insert(table).on_conflict_do_nothing().returning(table.c.id)
    new_id = (await session.execute(stmt, values)).scalar_one_or_none()
    return int(new_id) if new_id is not None else None


async def revision_taken(session: AsyncSession, row: Deploy, revision: str) -> bool:
    """True when another deploy of the same service/env already has `revision`."""
    stmt = select(Deploy.id).where(
        Deploy.service == row.service, Deploy.env == row.env, Deploy.revision == revision, Deploy.id != row.id
    )
    return (await session.execute(stmt)).first() is not None


def _new_values(event: DeployEvent, at: datetime, now: datetime) -> dict[str, Any]:
    terminal = event.status in TERMINAL
    return {
        "kind": "deploy",
        "service": event.service,
        "env": event.env,
        "key": event.key,
        "source": "webhook",
        "status": event.status,
        "revision": event.revision,
        "image": event.image,
        "commit_sha": event.commit_sha,
        "commit_url": event.commit_url,
        "author": event.author,
        "pipeline_url": event.pipeline_url,
        "message": event.message,
        "traffic": None,
        "started_at": (event.started_at or at) if terminal else at,
        "finished_at": at if terminal else None,
        "created_at": now,
        "updated_at": now,
    }


async def _apply(
    session: AsyncSession, row: Deploy, event: DeployEvent, at: datetime
) -> tuple[str, str, bool]:
    """Apply a delivery to a stored deploy: ('updated' | 'duplicate' | 'ignored', reason, status changed)."""
    status_changed = False
    if event.status != row.status:
        # The pipeline's word beats the watcher's guess (a Ready revision may still fail its checks).
        from_watcher = row.source == "watcher" and event.status in TERMINAL
        if row.status in TERMINAL and not from_watcher:
            return "ignored", f"deploy #{row.id} already {row.status}; the first outcome is kept", False
        row.status = event.status
        status_changed = True
        if event.status in TERMINAL:
            row.finished_at = at
            if event.started_at is not None:
                row.started_at = event.started_at
    details_changed = False
    for name in _DETAILS:
        value = getattr(event, name)
        if value is not None and getattr(row, name) != value:
            setattr(row, name, value)
            details_changed = True
    revision = event.revision
    if revision and row.revision != revision and not await revision_taken(session, row, revision):
        row.revision = revision
        details_changed = True
    if row.source == "watcher" and (status_changed or details_changed):
        row.source = "webhook"
    if not (status_changed or details_changed):
        return "duplicate", f"deploy #{row.id} is already {row.status}", False
    return "updated", "", status_changed


async def publish(c: Container, session: AsyncSession, row: Deploy, *, created: bool) -> None:
    """Post (or update in place) the deploy's messages, and link it to an open incident as a suspect."""
    view = view_of(row)
    text, blocks = deploy_message(view)
    for channel in announce_channels(c.catalog, row.service):
        key = message_key(row.id, channel)
        if created:
            await enqueue(session, post_message(channel, text=text, blocks=blocks, key=key))
        else:
            await enqueue(session, update_message(key, lane=lane_for(channel), text=text, blocks=blocks))
    await link_live(c, session, row, view, created=created)


async def ingest(c: Container, event: DeployEvent) -> Outcome:
    """Store one delivery and enqueue its messages in the same transaction; retries change nothing."""
    now = c.clock.now()
    at = event.timestamp or now
    async with c.transaction() as session:
        row, revision_free = await _match(session, event)
        if row is None:
            values = _new_values(event, at, now)
            if not revision_free:
                values["revision"] = None  # another deploy has it; keep the two apart
            new_id = await insert_returning_id(session, values)
            if new_id is not None:
                row = Deploy(id=new_id, **values)  # a detached copy of what was stored
                await publish(c, session, row, created=True)
                outcome = Outcome(row.id, row.status, "created", status_changed=True)
            else:
                # A concurrent delivery stored it first (or took the revision): match again.
                row, _ = await _match(session, event)
                assert row is not None, "the insert conflicted with a deploy that exists"
                outcome = await _update(c, session, row, event, at, now)
        else:
            outcome = await _update(c, session, row, event, at, now)
        service, env, kind = row.service, row.env, row.kind
    if outcome.status_changed and kind == "deploy":
        c.metrics.deploys.labels(service, env, outcome.status).inc()
    return outcome


async def _match(session: AsyncSession, event: DeployEvent) -> tuple[Deploy | None, bool]:
    """The deploy this delivery is about, and whether its revision is free for it.

    By the sender's key first; else by revision, but only a deploy known by nothing but that revision
    (found by the watcher, or announced with the revision alone): another pipeline deploy that happens
    to name the same revision stays a deploy of its own.
    """
    row = await find(session, event.service, event.env, key=event.key)
    if row is not None or not event.revision:
        return row, True
    other = await find(session, event.service, event.env, revision=event.revision)
    if other is None:
        return None, True
    if other.key == revision_key(event.revision):
        return other, True
    return None, False


async def _update(
    c: Container, session: AsyncSession, row: Deploy, event: DeployEvent, at: datetime, now: datetime
) -> Outcome:
    result, reason, status_changed = await _apply(session, row, event, at)
    if result == "updated":
        row.updated_at = now
        await session.flush()
        await publish(c, session, row, created=False)
    return Outcome(row.id, row.status, result, reason, status_changed)
