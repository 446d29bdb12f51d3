"""Suspect changes: deploys and traffic changes during an open incident join its timeline and channel,
with a "Roll back to previous" button that goes through the rollback flow; recent deploys are listed on
the card of a newly declared incident."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.rollback.models import Rollback
from tests.cloudrun.helpers import ephemerals, message_for, wait_new_change, wait_status
from tests.conftest import Flare
from tests.deploys.conftest import ALICE, BOB
from tests.deploys.helpers import deploy_event, links, send, tick
from tests.fakes.cloudrun import FakeService
from tests.fakes.slack import Channel, FakeSlack, Message
from tests.incidents.helpers import card, incident_channel
from tests.support.clock import ManualClock
from tests.support.messages import buttons, text_of
from tests.support.records import timeline
from tests.support.waits import settle


async def declare(flare: Flare, fake_slack: FakeSlack, service: str = "checkout") -> Channel:
    reply = await flare.slack.command(
        "/incident", f"declare P1 {service} is failing --service {service}", user=ALICE
    )
    assert "INC-" in reply.json()["text"]
    await settle(flare)
    return incident_channel(fake_slack, 1)


def suspect_posts(fake: FakeSlack, channel: Channel) -> list[Message]:
    return [m for m in fake.posted(channel.id) if "Suspect change for INC-1" in m.text]


async def test_a_deploy_during_an_incident_is_a_suspect_and_its_button_rolls_back_with_confirmation(
    flare: Flare, fake_slack: FakeSlack, checkout: FakeService
) -> None:
    channel = await declare(flare, fake_slack)
    serving, previous = checkout.revisions[-1].name, checkout.revisions[-2].name
    await send(flare, deploy_event())
    await settle(flare)
    [post] = suspect_posts(fake_slack, channel)
    button = buttons(post.blocks)["deploy_rollback"]
    assert button["text"]["text"] == "Roll back to previous"
    assert button["value"] == "1"
    assert "started" in text_of(post)
    await send(flare, deploy_event(status="succeeded", revision=serving))
    await settle(flare)
    [post] = suspect_posts(fake_slack, channel)  # updated in place, not posted again
    assert post.edits == 1
    assert "succeeded" in text_of(post)
    events = [e for e in await timeline(flare) if e.kind == "deploy"]
    assert [e.data["status"] for e in events] == ["started", "succeeded"]
    assert events[0].data["deploy_id"] == 1
    assert events[0].data["suspect"] == "live"
    assert events[0].data["url"].startswith("https://github.com/acme/checkout/commit/")
    assert events[1].data["revision"] == serving
    assert events[0].actor == "alice"
    assert await links(flare) == [(1, 1, "live")]

    # Anyone may propose; the proposal is the rollback flow's confirmation message.
    await flare.slack.block_action("deploy_rollback", "1", user=ALICE, channel=channel.id)
    change = await wait_new_change(flare, 0)
    proposal = message_for(fake_slack, channel.id, change)
    assert previous in text_of(proposal)
    assert "rollback_confirm" in buttons(proposal.blocks)
    async with flare.container.db.sessions() as session:
        row = (await session.execute(select(Rollback).where(Rollback.id == change))).scalar_one()
    assert (row.kind, row.service, row.env, row.requested_by, row.incident_id) == (
        "rollback",
        "checkout",
        "production",
        ALICE,
        1,
    )
    # Only people allowed to change production may confirm.
    await flare.slack.block_action("rollback_confirm", str(change), user=ALICE, channel=channel.id)
    await fake_slack.wait_for(lambda: any("Not confirmed" in t for t in ephemerals(fake_slack, ALICE)))
    assert checkout.serving() == {serving: 100}
    await flare.slack.block_action("rollback_confirm", str(change), user=BOB, channel=channel.id)
    await wait_status(flare, change, "succeeded")
    assert checkout.serving() == {previous: 100}
    kinds = [e.kind for e in await timeline(flare)]
    assert "rollback_refused" in kinds
    assert kinds.count("rollback") >= 2  # proposed, confirmed, succeeded


async def test_a_traffic_change_suspect_rolls_back_to_the_split_before_it(
    flare: Flare, fake_slack: FakeSlack, checkout: FakeService, clock: ManualClock
) -> None:
    newest, older = checkout.revisions[-1].name, checkout.revisions[-3].name
    await tick(flare)
    channel = await declare(flare, fake_slack)
    checkout.set_traffic({older: 100})
    clock.advance(seconds=6)
    await tick(flare)
    [post] = suspect_posts(fake_slack, channel)
    assert "traffic change" in text_of(post)
    [event] = [e for e in await timeline(flare) if e.kind == "traffic_change"]
    assert event.data["traffic"] == {"before": {newest: 100}, "after": {older: 100}}
    await flare.slack.block_action("deploy_rollback", "1", user=BOB, channel=channel.id)
    change = await wait_new_change(flare, 0)
    await flare.slack.block_action("rollback_confirm", str(change), user=BOB, channel=channel.id)
    await wait_status(flare, change, "succeeded")
    assert checkout.serving() == {newest: 100}  # the split before the change, not merely "one older"
    clock.advance(seconds=6)
    await tick(flare)
    assert len(suspect_posts(fake_slack, channel)) == 1  # Flare's own rollback is not a new suspect


async def test_declaring_lists_the_services_recent_deploys_on_the_card(
    flare: Flare, fake_slack: FakeSlack
) -> None:
    now = datetime.now(UTC)
    sent = [
        deploy_event(
            deploy_id="recent", status="succeeded", revision="checkout-00007-new", timestamp=_ago(now, 30)
        ),
        deploy_event(deploy_id="running", revision=None, timestamp=_ago(now, 5), author="<!here> erin"),
        deploy_event(
            deploy_id="old", status="succeeded", revision="checkout-00005-old", timestamp=_ago(now, 180)
        ),
        deploy_event(deploy_id="stage", env="staging", status="succeeded", revision="checkout-00003-stg"),
        deploy_event(deploy_id="other", service="search", status="succeeded", revision="search-api-00009-x"),
        deploy_event(
            deploy_id="long",
            status="succeeded",
            revision="checkout-00006-lng",
            started_at=_ago(now, 130),
            timestamp=_ago(now, 110),
        ),
    ]
    for body in sent:
        assert (await send(flare, body))[0] == 200
    channel = await declare(flare, fake_slack)
    shown = text_of(card(fake_slack, channel))
    assert "Suspect changes" in shown
    assert "checkout-00007-new" in shown
    assert "checkout-00006-lng" in shown  # started before the window, finished inside it
    assert re.search(r"\b30m( \d+s)? before", shown), "finished 30 minutes (and a few seconds) before"
    assert "&lt;!here&gt; erin" in shown
    for absent in ("checkout-00005-old", "checkout-00003-stg", "search-api-00009-x", "<!here>"):
        assert absent not in shown
    assert sorted(await links(flare)) == [(1, 1, "declare"), (2, 1, "declare"), (6, 1, "declare")]
    events = [e for e in await timeline(flare) if e.kind == "deploy"]
    assert sorted(e.data["deploy_id"] for e in events) == [1, 2, 6]
    assert all(e.data["suspect"] == "declare" for e in events)
    # A declared suspect that finishes later lands in the timeline, without a separate post.
    await send(flare, deploy_event(deploy_id="running", status="failed"))
    await settle(flare)
    events = [e for e in await timeline(flare) if e.kind == "deploy" and e.data["deploy_id"] == 2]
    assert [e.data["status"] for e in events] == ["started", "failed"]
    assert suspect_posts(fake_slack, channel) == []


async def test_other_environments_and_services_are_not_suspects(flare: Flare, fake_slack: FakeSlack) -> None:
    channel = await declare(flare, fake_slack)
    await send(flare, deploy_event(env="staging"))
    await send(flare, deploy_event(service="search", deploy_id="s1"))
    await settle(flare)
    assert suspect_posts(fake_slack, channel) == []
    assert await links(flare) == []
    assert [e.kind for e in await timeline(flare) if e.kind == "deploy"] == []


async def test_the_button_for_a_deploy_that_is_gone_answers_quietly(
    flare: Flare, fake_slack: FakeSlack
) -> None:
    reply = await flare.slack.block_action("deploy_rollback", "999", user=BOB, channel="C0OPSROOM1")
    assert reply.status == 200
    await fake_slack.wait_for(lambda: any("#999 is not recorded" in t for t in ephemerals(fake_slack, BOB)))
    async with flare.container.db.sessions() as session:
        assert (await session.execute(select(Rollback))).first() is None


def _ago(now: datetime, minutes: int) -> str:
    return (now - timedelta(minutes=minutes)).isoformat()
