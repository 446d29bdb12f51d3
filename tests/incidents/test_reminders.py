"""Status-update reminders driven by the tick, on one instance and on two sharing the database."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from bot.catalog import Catalog
from bot.catalog.services import SeverityOverride
from tests.conftest import TICK_TOKEN, Flare, StartFlare
from tests.fakes.slack import Channel, FakeSlack
from tests.incidents.helpers import incident, incident_channel
from tests.support.clock import ManualClock
from tests.support.records import timeline
from tests.support.waits import settle

AUTH = {"Authorization": f"Bearer {TICK_TOKEN}"}


async def tick(flare: Flare) -> None:
    status, body = await flare.post("/tasks/tick", headers=AUTH)
    assert status == 200, body
    assert body["status"] == "ok"


def reminders(fake: FakeSlack, channel: Channel) -> list[str]:
    return [m.text for m in fake.posted(channel.id) if "status update due" in m.text]


async def declare(flare: Flare, fake: FakeSlack, text: str, number: int = 1) -> Channel:
    reply = await flare.slack.command("/incident", f"declare {text}", user="U0ALICE01")
    assert f"INC-{number}" in reply.json()["text"]
    await settle(flare)
    return incident_channel(fake, number)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


async def test_p1_reminds_after_30_minutes_mentions_commander_and_repeats(
    start_flare: StartFlare, fake_slack: FakeSlack, clock: ManualClock
) -> None:
    flare = await start_flare(clock=clock)
    channel = await declare(flare, fake_slack, "P1 checkout is failing --service checkout")
    await flare.slack.command("/incident", "assign commander <@U0ERIN001>", channel=channel.id)
    clock.advance(minutes=29)
    await tick(flare)
    await settle(flare)
    assert reminders(fake_slack, channel) == []

    clock.advance(minutes=2)
    await tick(flare)
    await tick(flare)  # a second tick in the same interval sends nothing more
    await settle(flare)
    assert len(reminders(fake_slack, channel)) == 1
    reminder = next(m for m in fake_slack.posted(channel.id) if "status update due" in m.text)
    assert "<@U0ERIN001>" in str(reminder.blocks)
    assert "for 31 min" in str(reminder.blocks)
    recorded = await timeline(flare, 1, "reminder")
    assert len(recorded) == 1
    assert recorded[0].data["interval_minutes"] == 30

    clock.advance(minutes=31)
    await tick(flare)
    await settle(flare)
    assert len(reminders(fake_slack, channel)) == 2


async def test_an_update_restarts_the_interval(
    start_flare: StartFlare, fake_slack: FakeSlack, clock: ManualClock
) -> None:
    flare = await start_flare(clock=clock)
    channel = await declare(flare, fake_slack, "P1 checkout is failing")
    clock.advance(minutes=20)
    await flare.slack.command("/incident", "update rolling back", channel=channel.id)
    clock.advance(minutes=15)  # 35 min after declaring, 15 after the update
    await tick(flare)
    await settle(flare)
    assert reminders(fake_slack, channel) == []
    clock.advance(minutes=16)
    await tick(flare)
    await settle(flare)
    assert len(reminders(fake_slack, channel)) == 1
    # Without a commander the declarer is reminded, and told how to assign one.
    reminder = next(m for m in fake_slack.posted(channel.id) if "status update due" in m.text)
    assert "<@U0ALICE01>" in str(reminder.blocks)
    assert "assign commander" in str(reminder.blocks)


async def test_p3_and_resolved_incidents_are_never_reminded(
    start_flare: StartFlare, fake_slack: FakeSlack, clock: ManualClock
) -> None:
    flare = await start_flare(clock=clock)
    p3 = await declare(flare, fake_slack, "P3 typo on the receipt", 1)
    p0 = await declare(flare, fake_slack, "P0 payments down", 2)
    await flare.slack.command("/incident", "resolve false alarm", channel=p0.id)
    clock.advance(hours=5)
    await tick(flare)
    await settle(flare)
    assert reminders(fake_slack, p3) == []
    assert reminders(fake_slack, p0) == []
    assert (await incident(flare, 1)).next_reminder_at is None


async def test_catalog_overrides_the_interval_and_severity_changes_apply(
    start_flare: StartFlare, fake_slack: FakeSlack, clock: ManualClock, catalog: Catalog
) -> None:
    custom = catalog.model_copy(update={"severities": {"P2": SeverityOverride(reminder_minutes=5)}})
    flare = await start_flare(clock=clock, catalog_=custom)
    channel = await declare(flare, fake_slack, "P2 search is slow")
    clock.advance(minutes=6)
    await tick(flare)
    await settle(flare)
    assert len(reminders(fake_slack, channel)) == 1
    # P2 -> P3 stops reminders; P3 -> P0 (15 min) makes an overdue incident due at once.
    await flare.slack.command("/incident", "severity P3", channel=channel.id)
    clock.advance(minutes=20)
    await tick(flare)
    await settle(flare)
    assert len(reminders(fake_slack, channel)) == 1
    await flare.slack.command("/incident", "severity P0", channel=channel.id)
    await tick(flare)
    await settle(flare)
    assert len(reminders(fake_slack, channel)) == 2


async def test_two_instances_ticking_at_once_send_one_reminder(
    start_flare: StartFlare, fake_slack: FakeSlack, clock: ManualClock
) -> None:
    one = await start_flare(clock=clock)
    two = await start_flare(clock=clock)
    channel = await declare(one, fake_slack, "P0 payments down")
    for round_ in range(1, 4):
        clock.advance(minutes=16)
        results: list[Any] = await asyncio.gather(
            *[f.post("/tasks/tick", headers=AUTH) for f in (one, two, one, two)]
        )
        assert [status for status, _ in results] == [200, 200, 200, 200]
        await settle(one)
        await settle(two)
        assert len(reminders(fake_slack, channel)) == round_
    assert len(await timeline(one, 1, "reminder")) == 3


async def test_two_instances_with_the_in_process_timer_send_one_reminder(
    start_flare: StartFlare, make_settings: Any, fake_slack: FakeSlack, clock: ManualClock
) -> None:
    settings = make_settings(flare_tick_interval_seconds=0.02)
    one = await start_flare(settings, clock=clock)
    await start_flare(settings, clock=clock)
    channel = await declare(one, fake_slack, "P0 payments down")
    clock.advance(minutes=16)
    await fake_slack.wait_for(lambda: len(reminders(fake_slack, channel)) == 1)
    await asyncio.sleep(0.3)  # many more ticks on both instances
    await settle(one)
    assert len(reminders(fake_slack, channel)) == 1
    assert len(await timeline(one, 1, "reminder")) == 1


async def test_tick_needs_the_bearer_token(flare: Flare, start_flare: StartFlare, make_settings: Any) -> None:
    status, body = await flare.post("/tasks/tick")
    assert status == 401
    assert body["error"] == "unauthorized"
    status, body = await flare.post("/tasks/tick", headers={"Authorization": "Bearer wrong"})
    assert status == 401
    assert TICK_TOKEN not in str(body)
    disabled = await start_flare(make_settings(flare_tick_token=None))
    status, body = await disabled.post("/tasks/tick", headers=AUTH)
    assert status == 404
    assert "FLARE_TICK_TOKEN" in body["reason"]


async def test_overdue_reminder_survives_time_jumps_without_duplicates(
    start_flare: StartFlare, fake_slack: FakeSlack, clock: ManualClock
) -> None:
    flare = await start_flare(clock=clock)
    channel = await declare(flare, fake_slack, "P0 payments down")
    clock.advance(timedelta(hours=3))  # nobody ticked for hours: one reminder, not twelve
    await tick(flare)
    await tick(flare)
    await settle(flare)
    assert len(reminders(fake_slack, channel)) == 1
