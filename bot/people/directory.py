"""Who a Slack user id is: names from users.info, stored in `people`, refreshed at most daily.

Slack messages keep `<@U…>` (Slack renders the name for each reader). Markdown (the post-mortem), the
API and the web console cannot, so they show the display name stored here, or the id when Slack could
not say (unknown user, missing users:read, Slack down).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.container import Container
from bot.db.upsert import insert_ignore
from bot.incidents.models import ActionItem, Incident, IncidentEvent
from bot.people.models import Person
from bot.slack.gateway import SlackCallError

log = logging.getLogger("flare.people")
REFRESH_AFTER = timedelta(days=1)
USER_ID = re.compile(r"^[UW][A-Z0-9]{2,31}$")
MENTION = re.compile(r"<@([UW][A-Z0-9]{2,31})(?:\|[^<>]*)?>")
PER_PASS = 20
CALL_TIMEOUT = 3.0


def user_ids(values: Iterable[str | None]) -> set[str]:
    """The Slack user ids among `values`, and those mentioned (`<@U…>`) inside them."""
    found: set[str] = set()
    for value in values:
        if not value:
            continue
        if USER_ID.match(value):
            found.add(value)
        elif "<@" in value:
            found.update(MENTION.findall(value))
    return found


async def names(session: AsyncSession, ids: Iterable[str]) -> dict[str, str]:
    """Display names of the known ids (ids Slack could not name are left out: show the id)."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = await session.execute(select(Person.id, Person.display_name).where(Person.id.in_(wanted)))
    return {pid: name for pid, name in rows.all() if name}


async def stale(session: AsyncSession, ids: Iterable[str], now: datetime) -> list[str]:
    """The ids never looked up, or looked up more than a day ago."""
    wanted = sorted(set(ids))
    if not wanted:
        return []
    fresh = set(
        (
            await session.execute(
                select(Person.id).where(Person.id.in_(wanted), Person.updated_at > now - REFRESH_AFTER)
            )
        ).scalars()
    )
    return [pid for pid in wanted if pid not in fresh]


def display_name(user: dict[str, Any]) -> tuple[str, str]:
    """(display name, real name) from a users.info `user` object."""
    raw = user.get("profile")
    profile: dict[str, Any] = raw if isinstance(raw, dict) else {}
    real = str(profile.get("real_name") or user.get("real_name") or "")
    shown = str(profile.get("display_name") or real or user.get("name") or "")
    return shown[:200], real[:200]


async def look_up(c: Container, ids: list[str]) -> None:
    """users.info for each id (concurrently, each with a deadline); store what Slack says.

    An id Slack cannot name is stored with an empty name, so it is asked again only a day later.
    """
    if not ids:
        return

    async def one(pid: str) -> tuple[str, str, str]:
        try:
            body = await asyncio.wait_for(c.slack.call("users.info", {"user": pid}), CALL_TIMEOUT)
        except (SlackCallError, TimeoutError) as exc:
            log.info("users.info failed; showing the id", extra={"user": pid, "error": str(exc)[:100]})
            return pid, "", ""
        user = body.get("user")
        return (pid, *display_name(user)) if isinstance(user, dict) else (pid, "", "")

    found = await asyncio.gather(*(one(pid) for pid in ids))
    now = c.clock.now()
    async with c.transaction() as session:
        for pid, shown, real in found:
            row = await session.get(Person, pid)
            if row is None:
                await insert_ignore(
                    session, Person, {"id": pid, "display_name": shown, "real_name": real, "updated_at": now}
                )
            elif shown or not row.display_name:  # keep a known name when Slack has a bad moment
                row.display_name, row.real_name, row.updated_at = shown, real, now
            else:
                row.updated_at = now


async def refresh(c: Container) -> None:
    """Tick job: name the people of recent incidents that are unknown or a day old."""
    now = c.clock.now()
    since = now - timedelta(days=7)
    async with c.db.sessions() as session:
        recent = select(Incident).where(Incident.updated_at > since)
        incidents = (await session.execute(recent)).scalars().all()
        ids = {i.id for i in incidents}
        values: list[str | None] = []
        for i in incidents:
            values += [i.declared_by, i.commander, i.comms, i.acknowledged_by, i.mitigated_by, i.resolved_by]
        if ids:
            values += (
                await session.execute(
                    select(IncidentEvent.actor).where(IncidentEvent.incident_id.in_(sorted(ids))).distinct()
                )
            ).scalars()
            values += (
                await session.execute(
                    select(ActionItem.owner).where(
                        ActionItem.incident_id.in_(sorted(ids)), ActionItem.owner.is_not(None)
                    )
                )
            ).scalars()
        todo = await stale(session, user_ids(values), now)
    await look_up(c, todo[:PER_PASS])
