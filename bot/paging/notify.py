"""Telling people about pages: the channel, the card, the timeline and the person who asked."""

from __future__ import annotations

import re

from sqlalchemy.ext.asyncio import AsyncSession

from bot.container import Container
from bot.incidents import flows, queries
from bot.incidents.text import slack_date
from bot.incidents.timeline import record_event
from bot.paging import render
from bot.paging.models import Page
from bot.slack.escape import escape, safe
from bot.slack.outbox import enqueue, post_message
from bot.slack.refs import channel_ref

_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


async def accepted(c: Container, session: AsyncSession, page: Page, *, was_late: bool) -> None:
    """PagerDuty accepted the trigger: timeline, channel and card."""
    incident = await queries.load(session, page.incident_id)
    if incident is None:
        return
    when = page.accepted_at or c.clock.now()
    team = safe(page.team, 64)
    await record_event(
        session,
        incident.id,
        kind="paged",
        text=f"Paged {page.team} on-call via PagerDuty",
        actor=page.requested_by,
        occurred_at=when,
        data={"team": page.team, "dedup_key": page.dedup_key, "reason": page.reason},
        dedup_key=f"paged:{page.dedup_key}:{when.isoformat()}",
    )
    text = f":pager: Paged {team} on-call via PagerDuty at {slack_date(when)}"
    if was_late:
        text += " (after the delay reported above)"
    await enqueue(session, post_message(channel_ref(incident.channel_key), text=text))
    await flows.refresh(c, session, incident)


async def undelivered(c: Container, session: AsyncSession, page: Page, reason: str, *, kind: str) -> None:
    """A page failed or is late: loudly in the channel, on the card and timeline, privately to the asker."""
    c.metrics.pages_undelivered.labels(kind).inc()
    incident = await queries.load(session, page.incident_id)
    if incident is None:
        return
    now = c.clock.now()
    await record_event(
        session,
        incident.id,
        kind="page_failed" if kind == "failed" else "page_late",
        text=f"Page to {page.team} on-call not delivered: {reason}",
        actor="flare",
        occurred_at=now,
        data={"team": page.team, "dedup_key": page.dedup_key, "reason": reason},
    )
    text = render.failure_notice(page.team, reason)
    channel = channel_ref(incident.channel_key)
    await enqueue(session, post_message(channel, text=text))
    if _USER_ID.match(page.requested_by or ""):
        await enqueue(session, flows.ephemeral_notice(channel, page.requested_by, text))
    await flows.refresh(c, session, incident)


async def follow_up_refused(
    c: Container, session: AsyncSession, page: Page, action: str, reason: str
) -> None:
    """An acknowledge or resolve that failed for good: said in the channel (the page itself went out)."""
    incident = await queries.load(session, page.incident_id)
    if incident is None:
        return
    text = (
        f":warning: The {action} of the page to {safe(page.team, 64)} on-call did not reach PagerDuty. "
        f"{escape(reason)} Do it in PagerDuty so nobody keeps being paged."
    )
    await enqueue(session, post_message(channel_ref(incident.channel_key), text=text))


async def cancelled(c: Container, session: AsyncSession, page: Page) -> None:
    """The incident was resolved before PagerDuty took the page: it is not sent at all."""
    incident = await queries.load(session, page.incident_id)
    if incident is None:
        return
    await record_event(
        session,
        incident.id,
        kind="page_cancelled",
        text=f"Page to {page.team} on-call not sent: {page.last_error}",
        actor="flare",
        occurred_at=c.clock.now(),
        data={"team": page.team, "dedup_key": page.dedup_key},
    )
    await flows.refresh(c, session, incident)
