"""Asking for a draft: generate it at once when the timeline is small, else as tracked background work.

Measured (bench/bench_postmortem.py): a draft of up to LARGE_TIMELINE events is read, rendered and
stored in tens of milliseconds, so it is made in the request's own transaction and the answer names
the version. A longer timeline takes hundreds of milliseconds; then the request is answered at once
and the draft is made right after in a background task (the same transaction shape: version, timeline
entry, upload and the requester's note commit together). The task waits for the request's own
transaction to commit (it needs the incident row lock), so it sees everything the request saw.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.container import Container
from bot.incidents import queries
from bot.incidents.models import Incident, IncidentEvent
from bot.postmortem import service
from bot.postmortem.render import EXCLUDED_KINDS
from bot.slack.escape import channel_mention, escape
from bot.slack.outbox import Outbound, enqueue, lane_for

LARGE_TIMELINE = service.THREAD_ABOVE_EVENTS


@dataclass(frozen=True)
class Pending:
    """A draft being made in the background: how many events it covers."""

    incident_id: int
    event_count: int

    @property
    def human_id(self) -> str:
        """INC-<id>."""
        return f"INC-{self.incident_id}"


async def request(
    c: Container,
    session: AsyncSession,
    incident: Incident,
    *,
    actor: str,
    trigger: str,
    request_key: str | None = None,
    notify: tuple[str, str] | None = None,
) -> service.Draft | Pending:
    """The draft (made now, the incident row locked by the caller), or Pending when it is made after commit.

    `notify` (channel, user) receives a private note when a background draft is ready.
    """
    count = await count_events(session, incident.id)
    if count <= LARGE_TIMELINE:
        return await service.generate(
            c, session, incident, actor=actor, trigger=trigger, request_key=request_key
        )
    background = _generate(
        c, incident.id, actor=actor, trigger=trigger, request_key=request_key, notify=notify
    )
    c.spawn(background, name=f"postmortem:{incident.id}")
    return Pending(incident.id, count)


async def count_events(session: AsyncSession, incident_id: int) -> int:
    """How many events a draft of the incident covers."""
    stmt = (
        select(func.count())
        .select_from(IncidentEvent)
        .where(IncidentEvent.incident_id == incident_id, IncidentEvent.kind.not_in(EXCLUDED_KINDS))
    )
    return int((await session.execute(stmt)).scalar_one())


async def _generate(
    c: Container,
    incident_id: int,
    *,
    actor: str,
    trigger: str,
    request_key: str | None,
    notify: tuple[str, str] | None,
) -> None:
    async with c.transaction() as session:
        incident = await queries.load(session, incident_id, for_update=True)
        if incident is None:
            return
        draft = await service.generate(
            c, session, incident, actor=actor, trigger=trigger, request_key=request_key
        )
        if notify is not None:
            channel, user = notify
            payload = {
                "channel": channel,
                "user": user,
                "text": answer(draft, await where(session, incident)),
            }
            await enqueue(session, Outbound(lane_for(channel), "chat.postEphemeral", payload))


async def where(session: AsyncSession, incident: Incident) -> str:
    """The incident channel as a mention (or its name while Slack has not created it yet)."""
    channels = await queries.channel_ids(session, [incident])
    if incident.id in channels:
        return channel_mention(channels[incident.id])
    return f"#{escape(incident.channel_name)}"


def answer(draft: service.Draft | Pending, where: str) -> str:
    """What the requester is told (mrkdwn)."""
    api = f"`GET /api/incidents/{draft.incident_id}/postmortem.md`"
    if isinstance(draft, Pending):
        return (
            f":hourglass_flowing_sand: Drafting the post-mortem of *{draft.human_id}* from "
            f"{draft.event_count:,} timeline events; it will be uploaded to {where} in a moment, and you "
            "will get a note here."
        )
    if draft.created:
        return (
            f":memo: Post-mortem draft *v{draft.version}* of *{draft.human_id}* generated from "
            f"{draft.event_count} timeline events; it is being uploaded to {where}. Earlier versions are "
            f"kept. For tooling: {api}."
        )
    return (
        f":memo: Nothing new was recorded on *{draft.human_id}* since draft *v{draft.version}*, so no new "
        f"version was made; v{draft.version} is in {where}. For tooling: {api}."
    )
