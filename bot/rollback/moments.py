"""The moments of a change that other features hook into, each in one function.

- `about_to_act`: the change is confirmed, re-checked, and Flare is about to PATCH Cloud Run.
- `verified_success`: the planned traffic serves and deep health is fine.
- `verification_failed`: the traffic moved but verification failed.
`finish` stores any outcome, releases the lock, updates the message and tells the channels.
"""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession

from bot.cloudrun.models import ServiceInfo
from bot.container import Container
from bot.db import locks
from bot.incidents import api as incidents
from bot.rollback.allocation import allocation_of
from bot.rollback.flows import count, lock_name, refresh_message, view_of
from bot.rollback.models import Rollback
from bot.rollback.record import record
from bot.rollback.render import render_notice
from bot.silences import changes as change_silence
from bot.slack.outbox import enqueue, post_message
from bot.slack.refs import channel_ref

log = logging.getLogger("flare.rollback")


async def about_to_act(c: Container, rollback_id: int, current: ServiceInfo) -> None:
    """Confirmed and re-checked: record exactly what serves now (the "before"), then Flare patches."""
    await change_silence.on_confirm(c, rollback_id)  # silence the service while the change settles
    async with c.transaction() as session:
        row = await session.get(Rollback, rollback_id, with_for_update=True)
        if row is None or row.status != "running":
            return
        row.before_traffic = {"allocation": allocation_of(current), "serving": current.serving()}
        row.step = "patching"
        await refresh_message(c, session, row)
        await record(
            session,
            row,
            "acting",
            f"Changing the traffic of {row.service} ({row.env}); serving before: {current.serving()}",
            actor="flare",
            data={"before": row.before_traffic},
            timeline=False,
        )


async def verified_success(
    c: Container, rollback_id: int, detail: str, observed: dict[str, int] | None
) -> None:
    """The change serves as planned and deep health is fine."""
    await finish(c, rollback_id, "succeeded", detail, observed=observed)


async def verification_failed(
    c: Container, rollback_id: int, detail: str, observed: dict[str, int] | None
) -> None:
    """The traffic moved (or could not be read back) but verification failed."""
    await finish(c, rollback_id, "unverified", detail, observed=observed)


async def finish(
    c: Container,
    rollback_id: int,
    status: str,
    detail: str,
    *,
    observed: dict[str, int] | None = None,
) -> None:
    """Store the outcome, release the lock, update the message and tell the channels that care."""
    async with c.transaction() as session:
        row = await session.get(Rollback, rollback_id, with_for_update=True)
        if row is None or row.status not in ("running", "interrupted"):
            return
        late = row.status == "interrupted"
        row.status, row.detail, row.step = status, detail, None
        row.finished_at, row.lease_until = c.clock.now(), None
        if observed is not None:
            row.observed = observed
        await locks.release(session, lock_name(row.service, row.env), f"rollback:{row.id}")
        await refresh_message(c, session, row)
        note = " (after it had been reported interrupted)" if late else ""
        await record(
            session,
            row,
            status,
            f"{row.kind.capitalize()} of {row.service} ({row.env}) {status}{note}: {detail}",
            actor="flare",
            data={"outcome": status, "observed": observed},
            refused=status == "refused",
        )
        await notify(c, session, row)
    if status != "stale":
        count(c, row, status)
    await change_silence.on_finish(c, rollback_id)  # a change that ends expires its silence at once
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
