"""The contract other features code against: bot.incidents.api."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.incidents import api
from bot.incidents.models import Incident, IncidentEvent
from bot.slack.outbox import enqueue, post_message
from bot.slack.refs import channel_ref
from tests.conftest import TICK_TOKEN, Flare
from tests.fakes.slack import FakeSlack
from tests.support.waits import settle


async def test_declare_from_another_feature_opens_channel_and_is_findable(
    flare: Flare, fake_slack: FakeSlack
) -> None:
    c = flare.container
    request = api.DeclareRequest(
        title="Checkout error rate above 5%",
        severity="P1",
        declared_by="flare",
        service="checkout",
        source="alert",
        dedup_key="alert-group:17",
    )
    async with c.transaction() as session:
        ref = await api.declare(c, session, request, origin="alert-group:17")
    assert ref.human_id == f"INC-{ref.id}"
    assert ref.status == "declared"
    assert ref.severity == "P1"
    assert ref.channel_key == f"incident:{ref.id}"
    assert ref.commander is None

    # The same dedup key again is the same incident: no second channel.
    async with c.transaction() as session:
        again = await api.declare(c, session, request)
    assert again == ref

    await settle(flare)
    created = fake_slack.ok_calls("conversations.create")
    assert len(created) == 1
    channel = fake_slack.channel_named(str(created[0].params["name"]))
    assert channel is not None
    # Automatic declarations invite the team's listed responders (there is no human declarer).
    assert {"U0BOB0001", "U0CAROL01"} <= channel.members

    async with c.db.sessions() as session:
        assert await api.get(session, ref.id) == ref
        assert await api.get(session, ref.id + 100) is None
        assert await api.find_open_for_service(session, "checkout") == ref
        assert await api.find_open_for_service(session, "search") is None
        assert await api.find_by_channel(session, channel.id) == ref
        assert await api.find_by_channel(session, "C0GENERAL") is None
        declared = (
            await session.execute(select(IncidentEvent).where(IncidentEvent.incident_id == ref.id))
        ).scalar_one()
        assert declared.kind == "declared"
        assert declared.data["origin"] == "alert-group:17"
        assert (await session.execute(select(func.count()).select_from(Incident))).scalar_one() == 1

    # Others post in the incident channel through the outbox with the channel key.
    async with c.transaction() as session:
        await enqueue(session, post_message(channel_ref(ref.channel_key), text="alert fired"))
    await settle(flare)
    assert any(m.text == "alert fired" for m in fake_slack.posted(channel.id))


async def test_record_event_dedups_and_stores_utc(flare: Flare) -> None:
    c = flare.container
    async with c.transaction() as session:
        ref = await api.declare(
            c, session, api.DeclareRequest(title="Search slow", severity="P2", declared_by="U0DAVE001")
        )
    at = datetime(2026, 1, 5, 15, 4, 5, tzinfo=UTC).astimezone(tz=None)
    async with c.transaction() as session:
        first = await api.record_event(
            session,
            ref.id,
            kind="alert_fired",
            text="HighLatency firing",
            actor="alertmanager",
            occurred_at=at,
            data={"url": "http://prom/graph"},
            dedup_key="am:abc:2026-01-05T15:04:05Z",
        )
        second = await api.record_event(
            session, ref.id, kind="alert_fired", text="again", dedup_key="am:abc:2026-01-05T15:04:05Z"
        )
    assert (first, second) == (True, False)
    async with c.db.sessions() as session:
        rows = (
            (
                await session.execute(
                    select(IncidentEvent).where(
                        IncidentEvent.incident_id == ref.id, IncidentEvent.kind == "alert_fired"
                    )
                )
            )
            .scalars()
            .all()
        )
    assert len(rows) == 1
    assert rows[0].occurred_at == datetime(2026, 1, 5, 15, 4, 5, tzinfo=UTC)
    assert rows[0].occurred_at.utcoffset() == timedelta(0)
    assert rows[0].data == {"url": "http://prom/graph"}


async def test_declare_rejects_unknown_severity(flare: Flare) -> None:
    c = flare.container
    with pytest.raises(ValueError, match="P7"):
        async with c.transaction() as session:
            await api.declare(c, session, api.DeclareRequest(title="x", severity="P7", declared_by="flare"))
    async with c.db.sessions() as session:
        assert (await session.execute(select(func.count()).select_from(Incident))).scalar_one() == 0


async def test_tick_copies_the_channel_id_onto_the_incident(flare: Flare, fake_slack: FakeSlack) -> None:
    c = flare.container
    async with c.transaction() as session:
        ref = await api.declare(c, session, api.DeclareRequest(title="x", severity="P3", declared_by="flare"))
    await settle(flare)
    channel_id = str(fake_slack.ok_calls("conversations.create")[0].response["channel"]["id"])
    async with c.db.sessions() as session:
        # Written when the channel is created (the tick is only the catch-up for older rows).
        assert (await session.get(Incident, ref.id)).channel_id == channel_id  # type: ignore[union-attr]
        assert await api.find_by_channel(session, channel_id) == ref
    status, _ = await flare.post("/tasks/tick", headers={"Authorization": f"Bearer {TICK_TOKEN}"})
    assert status == 200
    async with c.db.sessions() as session:
        assert (await session.get(Incident, ref.id)).channel_id == channel_id  # type: ignore[union-attr]
        assert await api.find_by_channel(session, channel_id) == ref  # now by the indexed column
