"""Rollback requests through their states: planning, proposed, confirmed or cancelled.

planning -> proposed (confirmation message posted) | refused (a guard) | failed (Cloud Run said no)
proposed -> running (an allowed user confirmed and the service lock was free) | cancelled
running  -> see bot/rollback/confirm.py (the start) and execute.py
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.catalog.rbac import AccessDecision
from bot.cloudrun.gateway import CloudRunError
from bot.cloudrun.models import Revision, ServiceInfo
from bot.cloudrun.render import section
from bot.cloudrun.targets import Target, UnknownTarget, resolve
from bot.container import Container
from bot.rollback.lease import kept_alive, lease_seconds
from bot.rollback.models import Rollback
from bot.rollback.plan import Plan, PlanError, Request, make_plan
from bot.rollback.queries import recent_changes
from bot.rollback.record import ephemeral, record
from bot.rollback.render import RollbackView, guard_lines, message_key, plan_again_button, render_rollback
from bot.silences.view import change_blocks  # issue 13: silences
from bot.slack.escape import escape, user_mention
from bot.slack.outbox import enqueue, lane_for, post_message, update_message

COUNTED_KINDS = ("rollback", "restore")


def lock_name(service: str, env: str) -> str:
    """The per-service lock every traffic change takes."""
    return f"cloudrun-service:{service}:{env}"


def view_of(row: Rollback) -> RollbackView:
    """The renderer's view of a row."""
    return RollbackView(
        id=row.id,
        kind=row.kind,
        service=row.service,
        env=row.env,
        status=row.status,
        requested_by=row.requested_by,
        plan=Plan.from_json(row.plan) if row.plan else None,
        step=row.step,
        decided_by=row.confirmed_by,
        detail=row.detail,
        created_at=row.created_at,
        finished_at=row.finished_at,
        observed={str(k): int(v) for k, v in row.observed.items()} if row.observed is not None else None,
        expires_at=row.expires_at,
    )


async def refresh_message(c: Container, session: AsyncSession, row: Rollback) -> None:
    """Enqueue a chat.update of the rollback's message to show its current state."""
    text, blocks = render_rollback(view_of(row), c.clock.now())
    blocks = (blocks + await change_blocks(session, row.id))[:50]  # issue 13: the change's silence
    await enqueue(
        session, update_message(message_key(row.id), lane=lane_for(row.channel_id), text=text, blocks=blocks)
    )


def count(c: Container, row: Rollback, result: str) -> None:
    """rollbacks_total{service,env,result}, for rollbacks and restores."""
    if row.kind in COUNTED_KINDS:
        c.metrics.rollbacks.labels(row.service, row.env, result).inc()


async def fetch(c: Container, target: Target) -> tuple[ServiceInfo, list[Revision]]:
    """The service and its revisions, read concurrently."""
    info, revisions = await asyncio.gather(
        c.cloudrun.get_service(target.ref), c.cloudrun.list_revisions(target.ref)
    )
    return info, revisions


async def plan_and_propose(c: Container, rollback_id: int) -> str:
    """Read Cloud Run, plan, check guards, then post the confirmation (or refuse). Returns the status."""
    async with c.db.sessions() as session:
        row = await session.get(Rollback, rollback_id)
        if row is None or row.status != "planning":
            return row.status if row else "missing"
        request = Request.from_json(row.request)
        parent = await session.get(Rollback, request.parent_id) if request.parent_id else None
        parent_plan = Plan.from_json(parent.plan) if parent is not None and parent.plan else None
        recorded = (parent.before_traffic or {}) if parent is not None else {}
        parent_allocation = recorded.get("allocation") or None
        window = c.catalog.rollback.loop_window_minutes
        recent = await recent_changes(
            session, row.service, row.env, c.clock.now() - timedelta(minutes=max(window, 1))
        )

    async def renew(session: AsyncSession) -> bool:
        result = await session.execute(
            update(Rollback)
            .where(Rollback.id == rollback_id, Rollback.status == "planning")
            .values(lease_until=c.clock.now() + timedelta(seconds=lease_seconds(c)))
        )
        return getattr(result, "rowcount", 0) == 1

    try:
        target = resolve(c.catalog, row.service, row.env)
        async with kept_alive(c, renew, name=f"planning:{rollback_id}"):
            info, revisions = await fetch(c, target)
        plan = make_plan(
            row.kind,  # type: ignore[arg-type]
            request,
            info,
            revisions,
            recent,
            now=c.clock.now(),
            window_minutes=window,
            parent=parent_plan,
            parent_allocation=parent_allocation,
        )
    except (CloudRunError, UnknownTarget) as exc:
        return await _end_planning(c, rollback_id, "failed", f"Could not plan it: {exc}")
    except PlanError as exc:
        return await _end_planning(c, rollback_id, "refused", str(exc))
    if plan.failed_guards:
        reason = guard_lines(plan.failed_guards)
        return await _end_planning(c, rollback_id, "refused", reason, plan=plan, guards=True)
    return await _propose(c, rollback_id, plan)


async def _end_planning(
    c: Container,
    rollback_id: int,
    status: str,
    reason: str,
    *,
    plan: Plan | None = None,
    guards: bool = False,
) -> str:
    async with c.transaction() as session:
        row = await session.get(Rollback, rollback_id, with_for_update=True)
        if row is None or row.status != "planning":
            return row.status if row else "missing"
        row.status, row.step, row.detail = status, None, reason
        row.finished_at, row.lease_until, row.open_slot = c.clock.now(), None, None
        if plan is not None:
            row.plan = plan.to_json()
        label = f"{escape(row.service)} ({escape(row.env)})"
        if status == "refused":
            hint = "\nAdd `--force` to override (the override is recorded)." if guards else ""
            text = f":no_entry: Not proposing the {word(row.kind)} of {label}:\n{escape(reason)}{hint}"
            await record(
                session,
                row,
                "refused",
                f"{word(row.kind).capitalize()} of {row.service} ({row.env}) refused: {reason}",
                actor="flare",
                refused=True,
            )
        else:
            text = f":x: {escape(reason)}"
            await record(session, row, "failed", reason, actor="flare", timeline=False)
        await enqueue(session, ephemeral(row.channel_id, row.requested_by, text))
    if status == "refused":
        count(c, row, "refused")
    return status


async def _propose(c: Container, rollback_id: int, plan: Plan) -> str:
    async with c.transaction() as session:
        row = await session.get(Rollback, rollback_id, with_for_update=True)
        if row is None or row.status != "planning":
            return row.status if row else "missing"
        row.status, row.step, row.plan, row.lease_until = "proposed", None, plan.to_json(), None
        row.expires_at = c.clock.now() + timedelta(minutes=c.catalog.rollback.proposal_ttl_minutes)
        text, blocks = render_rollback(view_of(row), c.clock.now())
        await enqueue(
            session, post_message(row.channel_id, text=text, blocks=blocks, key=message_key(row.id))
        )
        await record(
            session,
            row,
            "proposed",
            f"{word(row.kind).capitalize()} of {row.service} ({row.env}) proposed by {row.requested_by}: "
            f"{_split(plan.before)} -> {_split(plan.after)}",
            actor=row.requested_by,
            data={"before": plan.before, "after": plan.after},
        )
        for guard in plan.overridden_guards:
            await record(
                session,
                row,
                "guard_overridden",
                f"Guard {guard.name} overridden with --force: {guard.message}",
                actor=row.requested_by,
                data={"guard": guard.name},
            )
    return "proposed"


async def cancel(c: Container, rollback_id: int, user: str, decision: AccessDecision) -> bool:
    """The requester or an allowed user cancelled a proposal."""
    async with c.transaction() as session:
        row = await session.get(Rollback, rollback_id, with_for_update=True)
        if row is None:
            return False
        if row.status != "proposed":
            await enqueue(session, ephemeral(row.channel_id, user, _not_open(row)))
            return False
        if user != row.requested_by and decision.verdict != "allowed":
            await enqueue(
                session,
                ephemeral(
                    row.channel_id,
                    user,
                    ":no_entry: Only the requester or people allowed to change "
                    f"{escape(row.env)} can cancel this.",
                ),
            )
            return False
        row.status, row.confirmed_by, row.finished_at = "cancelled", user, c.clock.now()
        row.open_slot = None
        await refresh_message(c, session, row)
        await record(session, row, "cancelled", f"Cancelled by {user}", actor=user)
    count(c, row, "cancelled")
    return True


def _not_open(row: Rollback) -> str:
    who = f" by {user_mention(row.confirmed_by)}" if row.confirmed_by else ""
    return f"Change #{row.id} is already {escape(row.status)}{who}; nothing to do."


def not_open_note(row: Rollback) -> tuple[str, list[dict[str, Any]] | None]:
    """The private answer to Confirm on a change that is no longer open (Plan again when useful)."""
    if row.status == "expired":
        text = (
            f":hourglass: Change #{row.id} expired ({escape(row.detail or 'too old')}); it was not "
            "carried out. Plan again to see what serves now."
        )
    elif row.status == "replaced":
        text = f"Change #{row.id} was {escape(row.detail or 'replaced')}; confirm that one instead."
        return text, None
    else:
        return _not_open(row), None
    return text, [section(text), {"type": "actions", "elements": [plan_again_button(row.id)]}]


def word(kind: str) -> str:
    """The kind of change in words (rollback, restore, traffic change)."""
    return {"traffic": "traffic change", "restore": "restore"}.get(kind, "rollback")


def _split(split: dict[str, int]) -> str:
    return ", ".join(f"{n} {p}%" for n, p in sorted(split.items(), key=lambda kv: -kv[1])) or "nothing"


async def load(c: Container, rollback_id: int) -> Rollback | None:
    """A rollback row, read outside any transaction."""
    async with c.db.sessions() as session:
        return await session.get(Rollback, rollback_id)


async def expire_row(c: Container, session: AsyncSession, row: Rollback) -> None:
    """Mark a proposal expired (in `session`), free its slot and update its message."""
    row.status, row.open_slot, row.finished_at = "expired", None, c.clock.now()
    ttl = c.catalog.rollback.proposal_ttl_minutes
    row.detail = f"not confirmed within {ttl:g} minutes"
    await refresh_message(c, session, row)
    await record(session, row, "expired", f"Proposal #{row.id} expired after {ttl:g} minutes", actor="flare")
