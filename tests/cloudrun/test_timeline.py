"""Every step lands in the incident timeline: of the channel's incident, else the service's open one."""

from __future__ import annotations

from sqlalchemy import select

from bot.incidents.models import IncidentEvent
from tests.cloudrun.conftest import ALICE, BOB
from tests.cloudrun.helpers import command, ephemerals, message_for, wait_status
from tests.conftest import Flare
from tests.fakes.cloudrun import FakeEndpoints
from tests.fakes.slack import FakeSlack
from tests.support.messages import text_of
from tests.support.waits import settle


async def declare(cr: Flare, fake_slack: FakeSlack) -> str:
    reply = await cr.slack.command(
        "/incident", "declare P1 checkout is failing --service checkout", user=ALICE
    )
    assert "INC-1" in reply.json()["text"]
    await settle(cr)
    created = fake_slack.ok_calls("conversations.create")
    assert created, "the incident channel was created"
    return str(created[0].response["channel"]["id"])


async def timeline(cr: Flare) -> list[IncidentEvent]:
    async with cr.container.db.sessions() as session:
        rows = await session.execute(
            select(IncidentEvent).where(IncidentEvent.incident_id == 1).order_by(IncidentEvent.id)
        )
        return list(rows.scalars().all())


async def test_rollback_in_the_incident_channel_is_recorded_step_by_step(
    cr: Flare, fake_slack: FakeSlack, endpoints: FakeEndpoints
) -> None:
    channel = await declare(cr, fake_slack)
    _ack, change = await command(cr, "/rollback", "checkout", user=ALICE, channel=channel)
    await cr.slack.block_action("rollback_confirm", str(change), user=ALICE, channel=channel)
    await fake_slack.wait_for(lambda: any("Not confirmed" in t for t in ephemerals(fake_slack, ALICE)))
    await cr.slack.block_action("rollback_confirm", str(change), user=BOB, channel=channel)
    await wait_status(cr, change, "succeeded")
    await cr.slack.command("/health", "checkout", user=BOB, channel=channel)
    await fake_slack.wait_for(
        lambda: any("Health of checkout" in text_of(m) for m in fake_slack.posted(channel))
    )
    await settle(cr)

    events = [e for e in await timeline(cr) if e.kind in ("rollback", "rollback_refused", "health_check")]
    assert [e.kind for e in events] == [
        "rollback",
        "rollback_refused",
        "rollback",
        "rollback",
        "health_check",
    ]
    proposed, refused, confirmed, done, health = events
    assert proposed.actor == ALICE
    assert "proposed" in proposed.text
    assert refused.actor == ALICE
    assert "refused" in refused.text
    assert confirmed.actor == BOB
    assert "succeeded" in done.text
    assert done.data["rollback_id"] == change
    assert health.data["status"] == "healthy"
    # The message in the incident channel was updated in place; no second copy was posted there.
    assert "Done and verified" in text_of(message_for(fake_slack, channel, change))
    assert sum(f"change #{change}" in text_of(m) for m in fake_slack.posted(channel)) == 1


async def test_rollback_elsewhere_goes_to_the_services_open_incident(
    cr: Flare, fake_slack: FakeSlack
) -> None:
    channel = await declare(cr, fake_slack)
    _ack, change = await command(cr, "/rollback", "checkout", user=ALICE, channel="C0OPSROOM1")
    await cr.slack.block_action("rollback_confirm", str(change), user=BOB, channel="C0OPSROOM1")
    await wait_status(cr, change, "succeeded")
    kinds = [e.kind for e in await timeline(cr)]
    assert kinds.count("rollback") == 3
    notices = [m.text for m in fake_slack.posted(channel) if f"change #{change}" in m.text]
    assert len(notices) == 1
    assert "done and verified" in notices[0]


async def test_guard_refusals_are_recorded(cr: Flare, fake_slack: FakeSlack) -> None:
    channel = await declare(cr, fake_slack)
    _ack, change = await command(cr, "/rollback", "checkout --steps 40", user=ALICE, channel=channel)
    await settle(cr)
    refusals = [e for e in await timeline(cr) if e.kind == "rollback_refused"]
    assert len(refusals) == 1
    assert "only 3 Ready revisions" in refusals[0].text
    assert refusals[0].data["rollback_id"] == change
