"""Reading the sources of a draft straight from the database: times, order and delivered channel posts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select, text

from bot.db.engine import Database
from bot.incidents.models import Incident, IncidentEvent
from bot.postmortem import load
from bot.slack.models import OutboxItem

T0 = datetime(2026, 3, 29, 0, 59, 58, 123456, tzinfo=UTC)  # Europe/Paris changes its offset at 01:00 UTC


async def _seed(db: Database) -> None:
    async with db.transaction() as session:
        await session.execute(
            insert(Incident),
            [
                {
                    "id": 1,
                    "title": "checkout is failing",
                    "severity": "P1",
                    "status": "investigating",
                    "declared_by": "U0ALICE01",
                    "source": "slack",
                    "channel_name": "inc-1-checkout",
                    "channel_id": "C0INC0001",
                    "declared_at": T0,
                }
            ],
        )
        events = [
            # Stored out of time order, with a tie on the time broken by id.
            (T0 + timedelta(seconds=5), "update", "second"),
            (T0, "note", "first"),
            (T0 + timedelta(seconds=5), "update", "third"),
            (T0 + timedelta(seconds=1), "postmortem", "not part of its own story"),
        ]
        await session.execute(
            insert(IncidentEvent),
            [
                {
                    "incident_id": 1,
                    "kind": kind,
                    "text": body,
                    "actor": "U0ALICE01",
                    "occurred_at": at,
                    "recorded_at": at,
                    "data": {},
                    "pending_fetch": False,
                }
                for at, kind, body in events
            ],
        )
        await session.execute(
            insert(OutboxItem),
            [
                {
                    "lane": "ref:incident:1",
                    "method": "chat.postMessage",
                    "payload": {"text": f"INC-1 update: {body}"},
                    "status": "sent",
                    "attempts": 1,
                    "not_before": T0,
                    "created_at": T0,
                    "result": {"channel": "C0INC0001", "ts": ts},
                }
                for body, ts in (("second", "1774745999.000100"), ("third", None))
            ],
        )


async def test_times_are_aware_utc_and_in_order_whatever_the_session_time_zone(database_url: str) -> None:
    db = Database(database_url, pool_size=1)
    try:
        await _seed(db)
        async with db.sessions() as session:
            if db.dialect == "postgresql":  # SQLite has no session time zone
                await session.execute(text("SET TIME ZONE 'Europe/Paris'"))
            incident = (await session.execute(select(Incident).where(Incident.id == 1))).scalar_one()
            sources = await load.load(session, incident, workspace_url=None)
    finally:
        await db.close()
    events = sources.events
    assert [e.text for e in events] == ["first", "second", "third"]
    assert [e.occurred_at for e in events] == [T0, T0 + timedelta(seconds=5), T0 + timedelta(seconds=5)]
    assert all(e.occurred_at.tzinfo is UTC for e in events)
    # Only the post Slack confirmed (channel and ts) is linked, to the update it was made for.
    (second, third) = (events[1].id, events[2].id)
    assert set(sources.refs.event_messages) == {second}
    assert sources.refs.event_messages[second].ts == "1774745999.000100"
    assert third not in sources.refs.event_messages
