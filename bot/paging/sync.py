"""PagerDuty v3 webhooks about Flare's own pages: acknowledgements and resolutions reach the incident.

A webhook names a PagerDuty incident whose `incident_key` is the dedup key Flare sent
(flare-INC-<n>[-team]). Events that Flare itself caused (its trigger, or an acknowledge/resolve it
sent through the Events API) are not recorded again, so nothing loops.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import exists, select

from bot.container import Container
from bot.incidents import flows, queries
from bot.incidents.timeline import record_event
from bot.paging import events
from bot.paging.hooks import FROM_PAGERDUTY
from bot.paging.models import Page, PageEvent
from bot.slack.escape import escape
from bot.slack.outbox import enqueue, post_message
from bot.slack.refs import channel_ref

ACTOR = "PagerDuty"
VERBS = {
    "incident.acknowledged": ("acknowledged", "acknowledge"),
    "incident.resolved": ("resolved", "resolve"),
}
OWN = {"incident.triggered", "incident.reopened", "incident.escalated", "incident.priority_updated"}


def flare_key(payload: Any) -> str | None:
    """The Flare dedup key a v3 webhook's incident carries, or None if it is not about a Flare page."""
    if not isinstance(payload, dict):
        return None
    event = payload.get("event")
    data = event.get("data") if isinstance(event, dict) else None
    key = data.get("incident_key") if isinstance(data, dict) else None
    if isinstance(key, str) and events.incident_number(key) is not None:
        return key
    return None


async def handle(c: Container, payload: dict[str, Any], key: str) -> dict[str, Any]:
    """Apply one webhook about the page `key`; the JSON answer for PagerDuty."""
    event: dict[str, Any] = payload["event"]
    event_type = str(event.get("event_type") or "")[:60]
    if event_type not in VERBS:
        return {"status": "ignored", "reason": f"{event_type or 'no event_type'} about Flare's own page"}
    verb, pd_action = VERBS[event_type]
    raw_agent = event.get("agent")
    agent: dict[str, Any] = raw_agent if isinstance(raw_agent, dict) else {}
    name = str(agent.get("summary") or "someone")[:100]
    by_person = agent.get("type") == "user_reference"
    event_id = str(event.get("id") or f"{key}:{event_type}:{event.get('occurred_at')}")[:150]
    async with c.transaction() as session:
        page = (await session.execute(select(Page).where(Page.dedup_key == key))).scalar_one_or_none()
        if page is None:
            return {"status": "ignored", "reason": f"no Flare page has dedup key {key}"}
        flare_sent = await session.scalar(
            select(exists().where(PageEvent.page_id == page.id, PageEvent.action == pd_action))
        )
        if flare_sent and not by_person:
            return {"status": "ignored", "reason": f"echo of Flare's own {pd_action}"}
        incident = await queries.load(session, page.incident_id, for_update=True)
        if incident is None:
            return {"status": "ignored", "reason": "the incident no longer exists"}
        text = f"{verb} in PagerDuty by {name}"
        recorded = await record_event(
            session,
            incident.id,
            kind="pagerduty",
            text=text,
            actor=ACTOR,
            occurred_at=c.clock.now(),
            data={"event_type": event_type, "team": page.team, "agent": name, "dedup_key": key},
            dedup_key=f"pagerduty:{event_id}",
        )
        if not recorded:
            return {"status": "duplicate", "incident": incident.human_id}
        if pd_action == "acknowledge" and incident.status == "declared":
            session.info[FROM_PAGERDUTY] = True
            await flows.change_status(c, session, incident, "ack", ACTOR, text)
        else:
            notice = f":pager: {escape(text)} (page to {escape(page.team)} on-call)"
            await enqueue(session, post_message(channel_ref(incident.channel_key), text=notice))
        return {"status": "ok", "incident": incident.human_id, "recorded": text}
