"""Running a confirmed change in the background: re-check, PATCH traffic, wait, settle, verify, report.

The row (status `running`, `step`, `lease_until`) and the service lock are the durable state; the
lease is renewed while this runs, so if the process dies another instance resolves the change from
a fresh read of Cloud Run (bot/rollback/recovery.py) instead of it being silently lost.

Nothing is patched before the live service has been read again: if what serves differs from the
plan's "before", the change stops as `stale`; the guards are re-run against the live service and
the recorded history (bot/rollback/recheck.py).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cloudrun.gateway import CloudRunError
from bot.cloudrun.models import ServiceInfo, TrafficSplit
from bot.cloudrun.targets import Target, UnknownTarget, resolve
from bot.cloudrun.text import plain_split
from bot.container import Container
from bot.db import locks
from bot.rollback.allocation import splits_of
from bot.rollback.flows import lock_name, refresh_message
from bot.rollback.lease import kept_alive, lease_seconds
from bot.rollback.models import Rollback
from bot.rollback.moments import about_to_act, finish, verification_failed, verified_success
from bot.rollback.plan import Plan
from bot.rollback.recheck import recheck
from bot.rollback.verify import verify

log = logging.getLogger("flare.rollback")


def splits_for(plan: Plan, current: ServiceInfo | None) -> list[TrafficSplit]:
    """The traffic to send: the plan's split, keeping existing tags at 0% so tagged URLs survive."""
    if plan.allocation is not None:
        splits = splits_of(plan.allocation)
    else:
        splits = [TrafficSplit(percent, revision=name) for name, percent in plan.after.items()]
    tags = current.tags() if current is not None else {}
    sent_tags = {s.tag for s in splits if s.tag}
    for name, tag in tags.items():
        if tag in sent_tags:
            continue
        if any(s.revision == name and not s.tag for s in splits):
            splits = [
                TrafficSplit(s.percent, s.revision, tag=tag) if s.revision == name and not s.tag else s
                for s in splits
            ]
        else:
            splits.append(TrafficSplit(0, revision=name, tag=tag))
    return splits


async def execute(c: Container, rollback_id: int) -> None:
    """Carry out a confirmed change and report the outcome in its message."""
    async with c.db.sessions() as session:
        row = await session.get(Rollback, rollback_id)
    if row is None or row.status != "running" or row.plan is None:
        return
    plan = Plan.from_json(row.plan)
    try:
        target = resolve(c.catalog, row.service, row.env)
    except UnknownTarget as exc:
        await finish(c, rollback_id, "failed", f"{exc}; Flare did not change the traffic")
        return
    holder = f"rollback:{rollback_id}"
    name = lock_name(row.service, row.env)

    async def renew(session: AsyncSession) -> bool:
        now = c.clock.now()
        held = await locks.renew(session, name, holder, now=now, ttl=lease_seconds(c))
        result = await session.execute(
            update(Rollback)
            .where(Rollback.id == rollback_id, Rollback.status == "running")
            .values(lease_until=now + timedelta(seconds=lease_seconds(c)))
        )
        return held and getattr(result, "rowcount", 0) == 1

    async with kept_alive(c, renew, name=holder):
        checked = await recheck(c, row, target, plan)
        if checked.stop is not None:
            status, detail = checked.stop
            await finish(c, rollback_id, status, detail, observed=checked.serving)
            return
        assert checked.current is not None
        current = checked.current
        await about_to_act(c, rollback_id, current)
        note = ""
        try:
            await c.cloudrun.set_traffic(
                target.ref,
                splits_for(plan, current),
                timeout=c.catalog.rollback.operation_timeout_seconds,
            )
        except CloudRunError as exc:
            outcome = await after_failed_patch(c, target, plan, exc)
            if outcome.stop is not None:
                status, detail = outcome.stop
                await finish(c, rollback_id, status, detail, observed=outcome.serving)
                return
            note = f" Cloud Run reported an error ({exc}), but the traffic had moved as planned."
        if c.catalog.rollback.settle_seconds > 0:
            await set_step(c, rollback_id, "settling")
            await asyncio.sleep(c.catalog.rollback.settle_seconds)
        await set_step(c, rollback_id, "verifying")
        status, detail, observed = await verify(c, target, plan)
    if status == "succeeded":
        await verified_success(c, rollback_id, detail + note, observed)
    else:
        await verification_failed(c, rollback_id, detail + note, observed)


class Outcome:
    """What a fresh read after a failed PATCH showed: stop with (status, detail), or carry on."""

    def __init__(self, stop: tuple[str, str] | None, serving: dict[str, int] | None) -> None:
        self.stop = stop
        self.serving = serving


async def after_failed_patch(c: Container, target: Target, plan: Plan, exc: CloudRunError) -> Outcome:
    """Re-read the service after a failed or timed-out PATCH and say only what was seen."""
    try:
        info = await c.cloudrun.get_service(target.ref)
    except CloudRunError as read_exc:
        return Outcome(
            (
                "failed",
                f"{exc}. Flare could not read the service back ({read_exc}), so it cannot tell whether "
                f"the traffic moved: check `/deploy status {target.service}`.",
            ),
            None,
        )
    now = info.serving()
    if now == plan.after:
        return Outcome(None, now)
    if now == plan.before:
        return Outcome(
            ("failed", f"{exc}. Traffic unchanged: Cloud Run still serves {plain_split(now)}."), now
        )
    return Outcome(
        (
            "failed",
            f"{exc}. Cloud Run now serves {plain_split(now) or 'nothing'}, neither the plan nor before.",
        ),
        now,
    )


async def set_step(c: Container, rollback_id: int, step: str) -> None:
    """Record (and show) which step a running change is at."""
    async with c.transaction() as session:
        row = await session.get(Rollback, rollback_id, with_for_update=True)
        if row is None or row.status != "running":
            return
        row.step = step
        await refresh_message(c, session, row)
