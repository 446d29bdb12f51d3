"""A confirmed rollback, restore or traffic change silences its service's alerts while it settles.

Called from bot/rollback/moments.py: `on_confirm` before the PATCH, `on_finish` with the outcome.
A silence that cannot be created never blocks the change: its message says so instead. An
interrupted change's silence simply runs out (its length is bounded).
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.container import Container
from bot.incidents import api as incidents
from bot.observability.report import capture_exception
from bot.rollback.flows import refresh_message
from bot.rollback.models import Rollback
from bot.silences import store
from bot.silences.gateway import SilenceSpec
from bot.silences.matchers import describe, service_matchers
from bot.silences.models import Silence
from bot.slack.models import SlackRef

log = logging.getLogger("flare.silences")
MARGIN = timedelta(minutes=5)
WORDS = {"traffic": "traffic change", "restore": "restore"}


def silence_length(c: Container, service: str, env: str) -> timedelta:
    """Settle time + verification (the Cloud Run operation and health check budgets) + 5 minutes."""
    policy = c.catalog.rollback
    environment = c.catalog.environment(service, env)
    health = environment.health if environment is not None else None
    checks = [health.timeout_seconds, *(d.timeout_seconds for d in health.dependencies)] if health else [0.0]
    seconds = policy.settle_seconds + policy.operation_timeout_seconds + max(checks)
    return timedelta(seconds=seconds) + MARGIN


async def on_confirm(c: Container, rollback_id: int) -> None:
    """Start silencing the change's service in Alertmanager, alongside the Cloud Run read and PATCH.

    It never blocks or fails the change. The change message shows the silence from its next update
    (the PATCH's outcome): an update of its own would take a turn of the channel's Slack pacing and
    delay the verified result.
    """
    if c.catalog.alertmanager is None:
        return
    c.spawn(_silence_guarded(c, rollback_id), name=f"silence:change:{rollback_id}")


async def _silence_guarded(c: Container, rollback_id: int) -> None:
    try:
        await _silence(c, rollback_id)
    except Exception as exc:  # the change must go on whatever happens here
        ref = capture_exception(exc) or "-"
        log.error("silencing a change failed", exc_info=exc, extra={"change": rollback_id, "ref": ref})


async def _settled(c: Container, rollback_id: int, budget: float) -> Silence | None:
    """The change's live silence once it is no longer being created (bounded by the call budget)."""
    deadline = time.monotonic() + budget + 2.0
    while True:
        live = await store.live_for_change(c, rollback_id)
        if live is None or live.status != "creating" or time.monotonic() > deadline:
            return live
        await asyncio.sleep(0.05)


async def on_finish(c: Container, rollback_id: int) -> None:
    """The change finished (verified, failed verification, or failed): expire its silence at once."""
    if c.catalog.alertmanager is None:
        return
    try:
        live = await _settled(c, rollback_id, c.catalog.alertmanager.timeout_seconds)
        outcome = await store.expire(c, live.id, "flare") if live is not None else None
        async with c.transaction() as session:  # the message shows how the silence ended (or failed)
            row = await session.get(Rollback, rollback_id)
            if row is None:
                return
            if outcome is not None and outcome.result == "failed":
                await _note(session, row, f"Could not expire the silence for {row.service}: {outcome.reason}")
            elif outcome is not None and outcome.result == "expired":
                await _note(session, row, f"Alerts for {row.service} unsilenced: change #{row.id} finished")
            await refresh_message(c, session, row)
    except Exception as exc:
        ref = capture_exception(exc) or "-"
        log.error(
            "expiring a change's silence failed", exc_info=exc, extra={"change": rollback_id, "ref": ref}
        )


async def _silence(c: Container, rollback_id: int) -> None:
    settings = c.catalog.alertmanager
    assert settings is not None
    async with c.db.sessions() as session:
        row = await session.get(Rollback, rollback_id)
        if row is None:
            return
        link = await _message_link(c, session, rollback_id)
    now = c.clock.now()
    word = WORDS.get(row.kind, "rollback")
    spec = SilenceSpec(
        matchers=service_matchers(settings, row.service, row.env),
        starts_at=now,
        ends_at=now + silence_length(c, row.service, row.env),
        created_by="Flare",
        comment=(
            f"Flare change #{row.id}: {word} of {row.service} ({row.env}) confirmed by "
            f"{row.confirmed_by or row.requested_by}; silenced while it settles. {link}"
        ).strip(),
    )
    outcome = await store.create(
        c,
        f"change:{row.id}",
        {
            "kind": "change",
            "service": row.service,
            "env": row.env,
            "rollback_id": row.id,
            "incident_id": row.incident_id,
            "created_by": (row.confirmed_by or row.requested_by)[:40],
            "until_resolved": False,
        },
        spec,
    )
    async with c.transaction() as session:
        fresh = await session.get(Rollback, rollback_id, with_for_update=True)
        if fresh is None:
            return
        if fresh.step == "settling":  # that update went out before the silence: show it while settling
            await refresh_message(c, session, fresh)
        if outcome.result == "created":
            await _note(
                session,
                fresh,
                f"Alerts for {row.service} silenced until {spec.ends_at:%H:%M} UTC while change #{row.id} "
                f"settles ({describe(spec.matchers)})",
                silence_id=outcome.silence.id if outcome.silence else None,
            )
        elif outcome.result == "failed":
            await _note(session, fresh, f"Could not silence alerts for {row.service}: {outcome.reason}")


async def _note(session: AsyncSession, row: Rollback, text: str, silence_id: int | None = None) -> None:
    if row.incident_id is None:
        return
    await incidents.record_event(
        session,
        row.incident_id,
        kind="silence",
        text=text,
        actor="flare",
        data={"rollback_id": row.id, "service": row.service, "env": row.env, "silence_id": silence_id},
    )


async def _message_link(c: Container, session: AsyncSession, rollback_id: int) -> str:
    ref = (
        await session.execute(select(SlackRef).where(SlackRef.key == f"rollback:{rollback_id}"))
    ).scalar_one_or_none()
    if ref is None or not ref.ts:
        return ""
    workspace = c.catalog.incidents.slack_workspace_url
    if workspace:
        return f"{workspace}/archives/{ref.channel_id}/p{ref.ts.replace('.', '')}"
    return f"Slack message {ref.ts} in channel {ref.channel_id}"
