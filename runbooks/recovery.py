"""Runs whose instance died mid-way: marked interrupted and reported in their channel."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from sqlalchemy import func, select

from bot.container import Container
from bot.rollback.lease import lease_seconds
from bot.slack.outbox import enqueue, post_message
from runbooks.engine import refresh_header, timeline, view_of
from runbooks.models import RunbookRun
from runbooks.render import render_interrupted

log = logging.getLogger("flare.runbooks")


async def sweep(c: Container) -> int:
    """Mark running runs with an expired lease as interrupted; post a notice in each one's channel."""
    now = c.clock.now()
    async with c.transaction() as session:
        runs = (
            (
                await session.execute(
                    select(RunbookRun)
                    .where(RunbookRun.status == "running", RunbookRun.lease_until < now)
                    .order_by(RunbookRun.id)
                    .limit(50)
                    .with_for_update(skip_locked=True)
                )
            )
            .scalars()
            .all()
        )
        for run in runs:
            run.status, run.lease_until, run.finished_at = "interrupted", None, now
            run.detail = f"Flare restarted during step {run.position + 1}"
            text, blocks = render_interrupted(view_of(run))
            await enqueue(
                session,
                post_message(
                    run.channel_id, text=text, blocks=blocks, dedup_key=f"runbook-run:{run.id}:interrupted"
                ),
            )
            await refresh_header(session, run)
            await timeline(
                session,
                run,
                f"Runbook {run.runbook} on {run.service} ({run.env}) interrupted by a restart during step "
                f"{run.position + 1}",
                actor="flare",
                data={"status": "interrupted", "position": run.position},
            )
    if runs:
        log.warning("reported interrupted runbook runs", extra={"count": len(runs)})
    return len(runs)


async def on_start(c: Container) -> None:
    """At start: report runs a dead instance left behind, waiting out leases that were still valid."""
    await sweep(c)
    async with c.db.sessions() as session:
        until = (
            await session.execute(
                select(func.max(RunbookRun.lease_until)).where(RunbookRun.status == "running")
            )
        ).scalar_one_or_none()
    if not isinstance(until, datetime):
        return
    wait = (until - c.clock.now()).total_seconds() + 0.2
    await asyncio.sleep(min(max(wait, 0.0), 2 * lease_seconds(c)))
    await sweep(c)


async def tick(c: Container) -> None:
    """The tick job: report runs orphaned since the last tick."""
    await sweep(c)
