"""Helpers for the Cloud Run tests: wait for outcomes, find messages, read the audit trail."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from sqlalchemy import func, select

from bot.rollback.models import Rollback, RollbackEvent
from tests.conftest import Flare
from tests.fakes.slack import FakeSlack, Message
from tests.support.messages import text_of
from tests.support.waits import settle, wait_for_status


async def rollbacks(flare: Flare) -> Sequence[Rollback]:
    """Every change request, by id."""
    async with flare.container.db.sessions() as session:
        return (await session.execute(select(Rollback).order_by(Rollback.id))).scalars().all()


async def rollback(flare: Flare, rollback_id: int = 1) -> Rollback:
    """One change request, fresh from the database."""
    async with flare.container.db.sessions() as session:
        row = await session.get(Rollback, rollback_id)
    assert row is not None, f"change #{rollback_id} not stored"
    return row


async def wait_status(
    flare: Flare, rollback_id: int, statuses: str | tuple[str, ...], timeout: float = 15.0
) -> Rollback:
    """Wait until the change reaches one of `statuses`; then let the outbox deliver."""
    return await wait_for_status(flare, Rollback, rollback_id, statuses, what="change", timeout=timeout)


async def trail(flare: Flare, rollback_id: int = 1) -> list[str]:
    """The kinds of a change's audit events, in order."""
    async with flare.container.db.sessions() as session:
        rows = await session.execute(
            select(RollbackEvent.kind)
            .where(RollbackEvent.rollback_id == rollback_id)
            .order_by(RollbackEvent.id)
        )
    return [r for (r,) in rows.all()]


def message_for(fake: FakeSlack, channel: str, change_id: int) -> Message:
    """The rollback message of change #id in `channel`."""
    found = [m for m in fake.posted(channel) if f"change #{change_id}" in text_of(m)]
    assert found, f"no message for change #{change_id} in {channel}: {[m.text for m in fake.posted(channel)]}"
    return found[-1]


def ephemerals(fake: FakeSlack, user: str) -> list[str]:
    """The ephemeral messages `user` was sent, as text."""
    return [text_of(p) for p in fake.ephemerals if p.get("user") == user]


async def newest_id(flare: Flare) -> int:
    """The id of the newest change request (0 if none)."""
    async with flare.container.db.sessions() as session:
        return int((await session.execute(select(func.max(Rollback.id)))).scalar_one() or 0)


async def wait_new_change(flare: Flare, after: int, timeout: float = 10.0) -> int:
    """Wait for a change request newer than `after` to leave planning; its id."""
    deadline = time.monotonic() + timeout
    while True:
        newest = await newest_id(flare)
        if newest > after:
            row = await rollback(flare, newest)
            if row.status != "planning":
                await settle(flare)
                return newest
        if time.monotonic() > deadline:
            raise AssertionError("no new change request left planning in time")
        await asyncio.sleep(0.03)


async def command(flare: Flare, name: str, text: str, *, user: str, channel: str) -> tuple[str, int]:
    """Send a slash command; (its ephemeral ack text, the newest change id once it has planned)."""
    before = await newest_id(flare)
    reply = await flare.slack.command(name, text, user=user, channel=channel)
    assert reply.status == 200, reply.text
    ack = str(reply.json()["text"])
    if "Planning the" not in ack:
        return ack, 0
    return ack, await wait_new_change(flare, before)
