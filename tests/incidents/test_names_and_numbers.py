"""Names and numbers: the channel Slack created is the one recorded, INC numbers never skip, long titles
are shortened (not refused), and a modal declaration is confirmed to the declarer.
"""

from __future__ import annotations

import asyncio
import json

from bot.incidents.naming import channel_name
from tests.conftest import API_TOKEN, Flare, StartFlare
from tests.fakes.slack import FakeSlack
from tests.fakes.slack_people import dms
from tests.incidents.helpers import incident, incident_channel, view_values
from tests.support.records import incidents
from tests.support.waits import settle

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}


async def test_the_suffixed_channel_name_is_written_back(flare: Flare, fake_slack: FakeSlack) -> None:
    taken = channel_name("inc", flare.container.clock.now(), 1, "db failover")
    fake_slack.add_channel("C0THEIRS01", taken, creator="U0SOMEONE")
    await flare.slack.command("/incident", "declare P1 db failover")
    await settle(flare)
    channel = incident_channel(fake_slack, 1)
    assert channel.name == f"{taken}-2"
    row = await incident(flare, 1)
    assert (row.channel_name, row.channel_id) == (channel.name, channel.id)
    status, body = await flare.get("/api/incidents/1", headers=AUTH)
    assert status == 200
    assert body["channel"]["name"] == channel.name

    await flare.slack.command("/incident", "postmortem", channel=channel.id)
    await settle(flare)
    await fake_slack.wait_for(lambda: bool(fake_slack.files))
    content = fake_slack.files[-1]["content"].decode()
    assert f"#{channel.name}" in content
    assert f"#{taken} " not in content
    assert f"#{taken}]" not in content
    assert f"#{taken}\n" not in content


async def test_inc_numbers_are_consecutive_under_retries_and_two_instances(
    start_flare: StartFlare, fake_slack: FakeSlack
) -> None:
    a = await start_flare()
    b = await start_flare()
    sends = []
    for n in range(6):
        trigger = f"{n}.trigger.numbers"
        # The same command reaches both instances (a Slack retry landing elsewhere), twice each.
        for instance in (a, b, a, b):
            sends.append(instance.slack.command("/incident", f"declare P3 problem {n}", trigger_id=trigger))
    replies = await asyncio.gather(*sends)
    assert all(r.status == 200 for r in replies)
    rows = await incidents(a)
    assert [r.id for r in rows] == [1, 2, 3, 4, 5, 6]
    assert sorted(r.title for r in rows) == [f"problem {n}" for n in range(6)]
    # Every answer for one command names the same incident.
    for n in range(6):
        named = {json.dumps(r.json()["text"]).split("*")[1] for r in replies[4 * n : 4 * n + 4]}
        assert len(named) == 1, named
    await a.slack.command("/incident", "declare P3 one more", trigger_id="x.trigger.numbers")
    assert [r.id for r in await incidents(a)][-1] == 7


async def test_a_long_inline_title_is_shortened_and_said_so(flare: Flare) -> None:
    title = "checkout " + "very " * 60 + "slow"
    reply = await flare.slack.command("/incident", f"declare P2 {title}")
    text = reply.json()["text"]
    assert "INC-1" in text
    assert f"The title had {len(title)} characters, so it was shortened to 150" in text
    row = await incident(flare, 1)
    assert len(row.title) == 150
    assert row.title.endswith("…")
    assert row.description == title


async def test_a_modal_declaration_is_confirmed_where_incident_was_typed(
    flare: Flare, fake_slack: FakeSlack
) -> None:
    await flare.slack.command("/incident", "", channel="C0GENERAL", user="U0ALICE01")
    await fake_slack.wait_for(lambda: len(fake_slack.views) == 1)
    metadata = fake_slack.views[0]["private_metadata"]
    reply = await flare.slack.view_submission(
        "incident_declare", view_values("search is empty", "P2"), user="U0ALICE01", private_metadata=metadata
    )
    assert reply.status == 200
    await settle(flare)
    confirmations = [e for e in fake_slack.ephemerals if e["channel"] == "C0GENERAL"]
    assert len(confirmations) == 1
    assert confirmations[0]["user"] == "U0ALICE01"
    assert "Declared *INC-1*" in confirmations[0]["text"]


async def test_a_modal_declaration_without_a_channel_is_confirmed_by_dm(
    flare: Flare, fake_slack: FakeSlack
) -> None:
    reply = await flare.slack.view_submission(
        "incident_declare", view_values("db down", "P1"), user="U0DAVE001"
    )
    assert reply.status == 200
    await settle(flare)
    assert any("Declared *INC-1*" in m.text for m in dms(fake_slack, "U0DAVE001"))
