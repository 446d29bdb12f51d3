"""Live suspects: a deploy or traffic change on a service with an open incident joins that incident.

It goes into the incident's timeline (once per status) and gets one post in the incident channel,
with a "Roll back to previous" button, updated in place as the deploy's status changes.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.container import Container
from bot.db.upsert import insert_ignore
from bot.deploys.models import Deploy, DeployLink
from bot.deploys.render import suspect_key, suspect_message
from bot.deploys.suspects import timeline_event
from bot.deploys.views import DeployView
from bot.incidents import api as incidents
from bot.slack.outbox import enqueue, lane_for, post_message, update_message
from bot.slack.refs import channel_ref


async def links_of(session: AsyncSession, deploy_id: int) -> dict[int, str]:
    """incident id -> how the deploy became its suspect ('declare' or 'live')."""
    rows = await session.execute(
        select(DeployLink.incident_id, DeployLink.origin).where(DeployLink.deploy_id == deploy_id)
    )
    return {int(incident_id): str(origin) for incident_id, origin in rows.all()}


async def link_live(
    c: Container, session: AsyncSession, row: Deploy, view: DeployView, *, created: bool = False
) -> None:
    """Link `row` to the service's open incident (if any) and record/post its current state."""
    if row.env not in c.catalog.deploys.incident_envs:
        return
    links = {} if created else await links_of(session, row.id)
    new: set[int] = set()
    incident = await incidents.find_open_for_service(session, row.service)
    if incident is not None and incident.id not in links:
        values = {
            "deploy_id": row.id,
            "incident_id": incident.id,
            "origin": "live",
            "created_at": c.clock.now(),
        }
        if await insert_ignore(session, DeployLink, values):
            links[incident.id] = "live"
            new.add(incident.id)
    for incident_id, origin in sorted(links.items()):
        await incidents.record_event(session, incident_id, **timeline_event(view, suspect=origin))
        if origin != "live":
            continue
        ref = incident if incident is not None and incident.id == incident_id else None
        ref = ref or await incidents.get(session, incident_id)
        if ref is None:
            continue
        channel = channel_ref(ref.channel_key)
        text, blocks = suspect_message(view, ref.human_id)
        key = suspect_key(row.id, incident_id)
        if incident_id in new:
            await enqueue(session, post_message(channel, text=text, blocks=blocks, key=key))
        else:
            await enqueue(session, update_message(key, lane=lane_for(channel), text=text, blocks=blocks))
