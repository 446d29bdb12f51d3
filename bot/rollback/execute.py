"""Running a confirmed change in the background: PATCH traffic, wait, settle, verify, report.

The row (status `running`, `step`, `lease_until`) and the service lock are the durable state; the
lease is renewed while this runs, so if the process dies another instance reports the change as
interrupted (bot/rollback/recovery.py) instead of it being silently lost.
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
from bot.health.service import service_health, summary_text
from bot.incidents import api as incidents
from bot.rollback.flows import count, lock_name, refresh_message, view_of
from bot.rollback.lease import kept_alive, lease_seconds
from bot.rollback.models import Rollback
from bot.rollback.plan import Plan
from bot.rollback.record import record
from bot.rollback.render import render_notice
from bot.silences import changes as change_silence  # issue 13: silences
from bot.slack.outbox import enqueue, post_message
from bot.slack.refs import channel_ref

log = logging.getLogger("flare.rollback")


def splits_for(plan: Plan, current: ServiceInfo | None) -> list[TrafficSplit]:
    """The traffic to send: the plan's split, keeping existing tags at 0% so tagged URLs survive."""
    splits = [TrafficSplit(percent, revision=name) for name, percent in plan.after.items()]
    tags = current.tags() if current is not None else {}
    for name, tag in tags.items():
        if name in plan.after:
            splits = [
                TrafficSplit(s.percent, s.revision, tag=tag) if s.revision == name else s for s in splits
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
        await finish(c, rollback_id, "failed", f"{exc}; traffic was not changed")
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

    policy = c.catalog.rollback
    async with kept_alive(c, renew, name=holder):
        await change_silence.on_confirm(c, rollback_id)  # issue 13: silence while it settles
        try:
            current = await c.cloudrun.get_service(target.ref)
        except CloudRunError as exc:
            await finish(c, rollback_id, "failed", f"{exc}. The traffic was not changed.")
            return
        try:
            await c.cloudrun.set_traffic(
                target.ref, splits_for(plan, current), timeout=policy.operation_timeout_seconds
            )
        except CloudRunError as exc:
            moved = "may have" if exc.retryable else "was not"
            await finish(c, rollback_id, "failed", f"{exc}. The traffic {moved} changed.")
            return
        if policy.settle_seconds > 0:
            await set_step(c, rollback_id, "settling")
            await asyncio.sleep(policy.settle_seconds)
        await set_step(c, rollback_id, "verifying")
        status, detail = await verify(c, target, plan)
    await finish(c, rollback_id, status, detail)


async def set_step(c: Container, rollback_id: int, step: str) -> None:
    """Record (and show) which step a running change is at."""
    async with c.transaction() as session:
        row = await session.get(Rollback, rollback_id, with_for_update=True)
        if row is None or row.status != "running":
            return
        row.step = step
        await refresh_message(c, session, row)


async def verify(c: Container, target: Target, plan: Plan) -> tuple[str, str]:
    """('succeeded' | 'unverified', why): the target serves as planned and deep health is not unhealthy."""
    report_task = asyncio.ensure_future(service_health(c.http, target.environment.health))
    try:
        info = await c.cloudrun.get_service(target.ref)
    except CloudRunError as exc:
        report_task.cancel()
        return "unverified", f"could not read the traffic back from Cloud Run: {exc}"
    report = await report_task
    serving = info.serving()
    if serving != plan.after:
        return "unverified", f"Cloud Run routes {plain_split(serving)}, expected {plain_split(plan.after)}"
    traffic = f"{plain_split(serving)} as planned"
    if report is None:
        return "succeeded", f"Traffic: {traffic}. No health checks are configured for {target.label}."
    health = f"deep health {summary_text(report)} ({report.total_ms / 1000:.2f} s)"
    if report.status == "unhealthy":
        return "unverified", f"traffic is {traffic}, but {health}"
    return "succeeded", f"Traffic: {traffic}; {health}."


async def finish(c: Container, rollback_id: int, status: str, detail: str) -> None:
    """Store the outcome, release the lock, update the message and tell the channels that care."""
    async with c.transaction() as session:
        row = await session.get(Rollback, rollback_id, with_for_update=True)
        if row is None or row.status not in ("running", "interrupted"):
            return
        late = row.status == "interrupted"
        row.status, row.detail, row.step = status, detail, None
        row.finished_at, row.lease_until = c.clock.now(), None
        await locks.release(session, lock_name(row.service, row.env), f"rollback:{row.id}")
        await refresh_message(c, session, row)
        note = " (after it had been reported interrupted)" if late else ""
        await record(
            session,
            row,
            status,
            f"{row.kind.capitalize()} of {row.service} ({row.env}) {status}{note}: {detail}",
            actor="flare",
            data={"outcome": status},
        )
        await notify(c, session, row)
    count(c, row, status)
    await change_silence.on_finish(c, rollback_id)  # issue 13: expire it at once
    log.info("change finished", extra={"change": rollback_id, "status": status})


async def notify(c: Container, session: AsyncSession, row: Rollback) -> None:
    """Post the outcome in the incident channel (when not already there) and the deployments channel."""
    text = render_notice(view_of(row))
    if row.incident_id is not None:
        incident = await incidents.get(session, row.incident_id)
        here = await incidents.find_by_channel(session, row.channel_id)
        if incident is not None and (here is None or here.id != incident.id):
            await enqueue(session, post_message(channel_ref(incident.channel_key), text=text))
    deployments = c.catalog.channels.deployments
    if deployments and deployments != row.channel_id:
        await enqueue(session, post_message(deployments, text=text))
