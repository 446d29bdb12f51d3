"""Create and expire silences: claim the slot in the database, ask Alertmanager, record the answer.

A slot ("change:7", "group:12") is unique while a silence is live, so a double click or a second
instance creates one silence. Alertmanager is called outside any transaction, within its budget.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from bot.container import Container
from bot.db.upsert import insert_ignore
from bot.settings import environment
from bot.silences.gateway import Created, SilenceError, SilenceGateway, SilenceSpec, gateway_for
from bot.silences.models import Silence

log = logging.getLogger("flare.silences")
# A slot still "creating" after this long belongs to a process that died mid-call.
STALE_CREATING = timedelta(seconds=30)


@dataclass(frozen=True)
class Outcome:
    """What happened: created | exists | failed | expired | already, with the row and a reason."""

    result: str
    silence: Silence | None
    reason: str = ""


def gateway(c: Container) -> SilenceGateway:
    """The Alertmanager gateway for the catalog (raises SilenceError when credentials are missing)."""
    settings = c.catalog.alertmanager
    if settings is None:
        raise SilenceError("the catalog has no alertmanager section")
    return gateway_for(c.http, settings, environment())


async def create(c: Container, slot: str, values: dict[str, Any], spec: SilenceSpec) -> Outcome:
    """Create the silence for `slot` unless one is live; the row records the outcome either way."""
    now = c.clock.now()
    row_values = {
        **values,
        "slot": slot,
        "status": "creating",
        "matchers": spec.matchers,
        "comment": spec.comment,
        "starts_at": spec.starts_at,
        "ends_at": spec.ends_at,
        "created_at": now,
    }
    async with c.transaction() as session:
        await session.execute(
            update(Silence)
            .where(
                Silence.slot == slot, Silence.status == "creating", Silence.created_at < now - STALE_CREATING
            )
            .values(slot=None, status="failed", error="interrupted while creating")
        )
        inserted = await insert_ignore(session, Silence, row_values)
        row = (await session.execute(select(Silence).where(Silence.slot == slot))).scalar_one_or_none()
    if not inserted or row is None:
        return Outcome("exists", row)
    created: Created | None = None
    error = ""
    try:
        created = await gateway(c).create(spec)
    except SilenceError as exc:
        error = str(exc)
        log.warning("silence not created", extra={"slot": slot, "reason": error[:300]})
    async with c.transaction() as session:
        fresh = await session.get(Silence, row.id, with_for_update=True)
        assert fresh is not None
        if created is None:
            fresh.status, fresh.slot, fresh.error = "failed", None, error
        else:
            fresh.status, fresh.alertmanager_id, fresh.alertmanager_url = (
                "active",
                created.silence_id,
                created.url,
            )
    return Outcome("failed" if created is None else "created", fresh, error)


async def expire(c: Container, silence_id: int, by: str) -> Outcome:
    """Expire a live silence in Alertmanager, then record it; 'already' when it was not live."""
    async with c.db.sessions() as session:
        row = await session.get(Silence, silence_id)
    if row is None or row.status != "active" or row.alertmanager_id is None:
        return Outcome("already", row)
    try:
        await gateway(c).expire(row.alertmanager_id, row.alertmanager_url)
    except SilenceError as exc:
        log.warning("silence not expired", extra={"silence": silence_id, "reason": str(exc)[:300]})
        return Outcome("failed", row, str(exc))
    now = c.clock.now()
    async with c.transaction() as session:
        result = await session.execute(
            update(Silence)
            .where(Silence.id == silence_id, Silence.status == "active")
            .values(status="expired", slot=None, expired_at=now, expired_by=by[:40])
        )
        fresh = await session.get(Silence, silence_id)
    done = getattr(result, "rowcount", 0) == 1
    return Outcome("expired" if done else "already", fresh)


async def live_for_change(c: Container, rollback_id: int) -> Silence | None:
    """The change's live silence, if any."""
    async with c.db.sessions() as session:
        return (
            await session.execute(select(Silence).where(Silence.slot == f"change:{rollback_id}"))
        ).scalar_one_or_none()
