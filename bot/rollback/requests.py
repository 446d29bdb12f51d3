"""New change requests: one open proposal per service and environment, replaced only on purpose.

A double click, a second person, or the button and the command at once find the open proposal
and are pointed to it privately; `--force` or a different explicit target replaces it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.container import Container
from bot.db.upsert import insert_ignore
from bot.rollback.flows import count, expire_row, load, refresh_message
from bot.rollback.lease import lease_seconds
from bot.rollback.models import Rollback
from bot.rollback.plan import Kind, Request
from bot.rollback.record import ephemeral, incident_for, record
from bot.slack.escape import escape, user_mention
from bot.slack.outbox import enqueue

EXPLICIT_MODES = frozenset({"to", "steps", "split", "restore", "further"})


@dataclass(frozen=True)
class Requested:
    """The outcome of a request: a new change id, or the open proposal the requester was sent to."""

    id: int | None
    open_id: int | None = None


def slot_of(service: str, env: str) -> str:
    """The open-proposal slot of a service in an environment."""
    return f"{service}:{env}"[:140]


def replaces(new: Request, old: Request) -> bool:
    """--force, or a different explicit target, may replace an open proposal."""
    if new.force:
        return True
    return new.mode in EXPLICIT_MODES and replace(new, force=False) != replace(old, force=False)


async def _open_row(session: AsyncSession, slot: str) -> Rollback | None:
    return (
        await session.execute(select(Rollback).where(Rollback.open_slot == slot).with_for_update())
    ).scalar_one_or_none()


async def request_change(
    c: Container,
    *,
    request_key: str,
    kind: Kind,
    service: str,
    env: str,
    channel: str,
    user: str,
    request: Request,
    runbook_run_id: int | None = None,
    response_url: str | None = None,
) -> Requested:
    """Store a new request in `planning`, or point the requester to the open one.

    `Requested(None)` when this request_key was already received.
    """
    now = c.clock.now()
    slot = slot_of(service, env)
    async with c.transaction() as session:
        if (
            await session.execute(select(Rollback.id).where(Rollback.request_key == request_key[:200]))
        ).first() is not None:
            return Requested(None)
        old = await _open_row(session, slot)
        if old is not None and old.status == "proposed" and old.expires_at and old.expires_at <= now:
            await expire_row(c, session, old)
            await session.flush()  # the Core INSERT below does not autoflush the freed slot
            old = None
        if old is not None and not replaces(request, Request.from_json(old.request)):
            await enqueue(session, ephemeral(channel, user, _pointer(old)))
            await record(
                session,
                old,
                "duplicate_request",
                f"{user} asked again; pointed to the open proposal #{old.id}",
                actor=user,
                timeline=False,
            )
            return Requested(None, open_id=old.id)
        if old is not None:
            old.open_slot = None
            await session.flush()
        inserted = await insert_ignore(
            session,
            Rollback,
            {
                "request_key": request_key[:200],
                "kind": kind,
                "service": service,
                "env": env,
                "channel_id": channel,
                "requested_by": user,
                "request": request.to_json(),
                "status": "planning",
                "step": "planning",
                "runbook_run_id": runbook_run_id,
                "created_at": now,
                "lease_until": now + timedelta(seconds=lease_seconds(c)),
                "open_slot": slot,
                "response_url": response_url,
            },
        )
        if not inserted:  # another instance took the slot (or the key) a moment ago
            raced = await _open_row(session, slot)
            if raced is not None:
                await enqueue(session, ephemeral(channel, user, _pointer(raced)))
                return Requested(None, open_id=raced.id)
            return Requested(None)
        row = (
            await session.execute(select(Rollback).where(Rollback.request_key == request_key[:200]))
        ).scalar_one()
        incident = await incident_for(session, channel, service)
        row.incident_id = incident.id if incident else None
        if old is not None:
            await _replace(c, session, old, row)
    if old is not None:
        count(c, old, "replaced")
    return Requested(row.id)


async def _replace(c: Container, session: AsyncSession, old: Rollback, new: Rollback) -> None:
    old.status, old.finished_at = "replaced", c.clock.now()
    old.detail = f"replaced by change #{new.id} ({user_mention(new.requested_by)})"
    old.lease_until = None
    await refresh_message(c, session, old)
    await record(
        session,
        old,
        "replaced",
        f"Proposal #{old.id} replaced by change #{new.id} requested by {new.requested_by}",
        actor=new.requested_by,
    )


def _pointer(old: Rollback) -> str:
    what = "being planned" if old.status == "planning" else "open"
    return (
        f":point_up: A change of {escape(old.service)} ({escape(old.env)}) is already {what}: "
        f"change #{old.id}, requested by {user_mention(old.requested_by)} in <#{old.channel_id}>. "
        "Confirm or cancel it there; nothing new was posted. Add `--force` or name a different "
        "target (`--to`) to replace it."
    )


async def follow_up(
    c: Container,
    parent_id: int,
    mode: str,
    *,
    channel: str,
    user: str,
    request_key: str,
    response_url: str | None = None,
) -> int | None:
    """Propose 'roll back further', 'restore previous' or 'plan again' after an earlier change."""
    parent = await load(c, parent_id)
    if parent is None:
        return None
    kind: Kind
    if mode == "again":  # the same request, planned afresh from what serves now
        kind, request = parent.kind, Request.from_json(parent.request)  # type: ignore[assignment]
    else:
        kind = "restore" if mode == "restore" else "rollback"
        request = Request(mode="restore" if mode == "restore" else "further", parent_id=parent_id)
    requested = await request_change(
        c,
        request_key=request_key,
        kind=kind,
        service=parent.service,
        env=parent.env,
        channel=channel or parent.channel_id,
        user=user,
        request=request,
        runbook_run_id=parent.runbook_run_id,
        response_url=response_url,
    )
    return requested.id
