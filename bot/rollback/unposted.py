"""When Slack refuses a change's message where it was asked for, tell the requester privately.

Slack answers `not_in_channel`, `channel_not_found` or `is_archived` when Flare is not in the
channel where `/rollback` was typed (or it is gone). The command's `response_url` still works
there, so the requester learns what failed and how to fix it; an unpostable proposal is
withdrawn so that it does not block the next request.
"""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
from sqlalchemy import select

from bot.container import Container
from bot.rollback.flows import load, view_of
from bot.rollback.models import OPEN_STATUSES, Rollback, RollbackEvent
from bot.rollback.record import record
from bot.rollback.render import render_notice
from bot.slack.escape import escape

log = logging.getLogger("flare.rollback")
CHANNEL_ERRORS = frozenset({"not_in_channel", "channel_not_found", "is_archived"})
PREFIX = "rollback:"


def elsewhere(c: Container, service: str, channel: str) -> str | None:
    """A channel Flare posts in that suits this service: its team's channel, else #deployments."""
    team = c.catalog.team_for(service)
    for candidate in (team.channel if team else None, c.catalog.channels.deployments):
        if candidate and candidate != channel:
            return candidate
    return None


def advice(c: Container, row: Rollback, error: str, what: str) -> str:
    """'Flare could not post … Invite @Flare to #x, or use it in #y.'"""
    where = f"<#{row.channel_id}>"
    other = elsewhere(c, row.service, row.channel_id)
    fix = (
        f"Invite @Flare to {where} (`/invite @Flare`)" + (f", or use it in <#{other}>." if other else ".")
        if error != "is_archived"
        else f"That channel is archived: use Flare in {f'<#{other}>' if other else 'another channel'}."
    )
    return (
        f":warning: Flare could not post {what} for change #{row.id} ({escape(row.service)}, "
        f"{escape(row.env)}) in {where}: Slack said `{escape(error)}`. {fix}"
    )


async def on_failed(c: Container, key: str | None, method: str, payload: dict[str, Any], error: str) -> None:
    """Outbox failure listener: a rollback message Slack would not take in its channel."""
    if error not in CHANNEL_ERRORS or not key or not key.startswith(PREFIX):
        return
    number = key[len(PREFIX) :]
    if not number.isdigit():
        return
    row = await load(c, int(number))
    if row is None:
        return
    withdrawn = False
    if method == "chat.postMessage" and row.status == "proposed":
        async with c.transaction() as session:
            fresh = await session.get(Rollback, row.id, with_for_update=True)
            if fresh is not None and fresh.status == "proposed":
                fresh.status, fresh.open_slot, fresh.finished_at = "failed", None, c.clock.now()
                fresh.detail = f"the plan could not be posted in the channel ({error}); nothing was changed"
                await record(session, fresh, "unposted", fresh.detail, actor="flare", timeline=False)
                withdrawn = True
    if method == "chat.update" and not await _first_result_failure(c, row):
        return  # a progress update, or the result was already told
    what = "the plan" if method == "chat.postMessage" else "the result"
    text = advice(c, row, error, what)
    if method == "chat.update":
        text += "\nThe outcome: " + render_notice(view_of(row))
    if withdrawn:
        text += " The proposal was withdrawn and nothing was changed; run the command again there."
    if not row.response_url:
        log.warning("change message not postable and no response_url", extra={"change": row.id})
        return
    body = {"response_type": "ephemeral", "replace_original": False, "text": text}
    try:
        async with c.http.post(row.response_url, json=body, timeout=aiohttp.ClientTimeout(total=5)) as r:
            if r.status >= 400:
                log.warning("response_url refused", extra={"change": row.id, "status": r.status})
    except (aiohttp.ClientError, TimeoutError) as exc:
        log.warning("response_url unreachable", extra={"change": row.id, "error": type(exc).__name__})


async def _first_result_failure(c: Container, row: Rollback) -> bool:
    """True once per change, when its final result could not be shown in its message."""
    if row.status in OPEN_STATUSES:
        return False
    async with c.transaction() as session:
        seen = (
            await session.execute(
                select(RollbackEvent.id).where(
                    RollbackEvent.rollback_id == row.id, RollbackEvent.kind == "result_unposted"
                )
            )
        ).first()
        if seen is not None:
            return False
        fresh = await session.get(Rollback, row.id)
        if fresh is not None:
            await record(
                session,
                fresh,
                "result_unposted",
                "the result could not be shown in its message",
                actor="flare",
                timeline=False,
            )
    return True


async def watch(c: Container) -> None:
    """Background entry: listen for outbox failures of change messages."""

    async def listener(key: str | None, method: str, payload: dict[str, Any], error: str) -> None:
        await on_failed(c, key, method, payload, error)

    c.dispatcher.failure_listeners.append(listener)
