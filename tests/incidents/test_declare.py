"""Declaring an incident: inline and through the modal, idempotency, the channel and its card."""

from __future__ import annotations

import asyncio
import json

from bot.catalog import Catalog
from bot.incidents.naming import channel_name
from tests.conftest import Flare, StartFlare
from tests.fakes.slack import BOT_USER_ID, FakeSlack
from tests.incidents.helpers import action_ids, card, failed_outbox, incident, incident_channel, view_values
from tests.support.messages import text_of
from tests.support.records import incidents, timeline
from tests.support.waits import settle


async def test_inline_declare_opens_channel_invites_pins_card_sets_topic_and_announces(
    flare: Flare, fake_slack: FakeSlack
) -> None:
    reply = await flare.slack.command(
        "/incident", "declare P1 checkout is failing --service checkout", user="U0ALICE01"
    )
    assert reply.status == 200
    body = reply.json()
    assert body["response_type"] == "ephemeral"
    assert "INC-1" in body["text"]

    await settle(flare)
    assert await failed_outbox(flare) == []
    row = await incident(flare, 1)
    assert (row.title, row.severity, row.status, row.service) == (
        "checkout is failing",
        "P1",
        "declared",
        "checkout",
    )
    assert row.declared_by == "U0ALICE01"
    assert row.channel_name == channel_name("inc", row.declared_at, 1, "checkout is failing")
    assert row.channel_name.startswith(f"inc-{row.declared_at:%Y%m%d}-1-checkout-is-failing")

    channel = incident_channel(fake_slack, 1)
    assert channel.name == row.channel_name
    assert {"U0ALICE01", "U0BOB0001", "U0CAROL01"} <= channel.members
    the_card = card(fake_slack, channel)
    shown = text_of(the_card)
    for expected in ("INC-1", "checkout is failing", "P1", "Declared", "checkout", "<!date^"):
        assert expected in shown
    assert action_ids(the_card) == [
        "incident_ack",
        "incident_update",
        "incident_severity",
        "incident_resolve",
        "incident_postmortem",
    ]
    assert the_card.pinned
    assert channel.topic == "P1 · Declared · no commander yet"

    announcements = fake_slack.posted("C0INCIDENTS")
    assert len(announcements) == 1
    assert f"<#{channel.id}>" in text_of(announcements[0])
    team = fake_slack.posted("C0PAYMENTS")
    assert len(team) == 1
    assert "<!subteam^S0PAYONCALL>" in text_of(team[0])  # the on-call group is pinged in its team channel
    assert f"<#{channel.id}>" in text_of(team[0])

    declared = await timeline(flare, 1, "declared")
    assert len(declared) == 1
    assert declared[0].actor == "U0ALICE01"
    assert declared[0].data["severity"] == "P1"


async def test_declare_acks_while_slack_is_down_and_delivers_later(
    flare: Flare, fake_slack: FakeSlack
) -> None:
    fake_slack.down = True
    reply = await flare.slack.command("/incident", "declare P0 everything is on fire")
    assert reply.status == 200
    assert "INC-1" in reply.json()["text"]
    assert (await incident(flare, 1)).status == "declared"
    assert fake_slack.ok_calls("conversations.create") == []
    fake_slack.down = False
    await settle(flare, timeout=15)
    channel = incident_channel(fake_slack, 1)
    assert card(fake_slack, channel).pinned


async def test_inline_declare_usage_errors(flare: Flare, fake_slack: FakeSlack) -> None:
    cases = {
        "declare P9 checkout down": "not a severity",
        "declare checkout down": "not a severity",
        "declare P1": None,  # opens nothing: a severity without a title
        "declare P1 --service nope checkout down": "Unknown service 'nope'",
        "declare P1 checkout --service": "--service needs",
    }
    for text, problem in cases.items():
        reply = await flare.slack.command("/incident", text)
        body = reply.json()
        assert reply.status == 200
        assert body["response_type"] == "ephemeral", text
        assert "Usage" in body["text"], text
        assert "Example" in body["text"], text
        if problem:
            assert problem in body["text"], (text, body["text"])
    assert await incidents(flare) == []
    assert fake_slack.calls_to("conversations.create") == []


async def test_modal_declare_with_commander_description_and_origin(
    flare: Flare, fake_slack: FakeSlack
) -> None:
    trigger = "111.222.modal"
    reply = await flare.slack.command("/incident", "", trigger_id=trigger)
    assert reply.status == 200
    await fake_slack.wait_for(lambda: len(fake_slack.views) == 1)
    view = fake_slack.views[0]
    assert view["trigger_id"] == trigger
    assert view["callback_id"] == "incident_declare"
    severity_block = next(b for b in view["blocks"] if b["block_id"] == "severity")
    options = severity_block["element"]["options"]
    assert [o["value"] for o in options] == ["P0", "P1", "P2", "P3"]
    assert "service down" in options[0]["description"]["text"]
    service_block = next(b for b in view["blocks"] if b["block_id"] == "service")
    assert [o["value"] for o in service_block["element"]["options"]] == ["checkout", "search"]

    submitted = await flare.slack.view_submission(
        "incident_declare",
        view_values(
            title="Search results empty",
            severity="P2",
            service="search",
            description="Since 14:00 the index returns nothing",
            commander="U0ERIN001",
        ),
        user="U0ALICE01",
        view_id=view["id"],
        private_metadata=json.dumps({"origin": "alert-group:17"}),
    )
    assert submitted.status == 200
    assert submitted.text in ("", "null")  # closes the modal
    await settle(flare)
    row = await incident(flare, 1)
    assert (row.title, row.severity, row.service, row.commander) == (
        "Search results empty",
        "P2",
        "search",
        "U0ERIN001",
    )
    assert row.description == "Since 14:00 the index returns nothing"
    assert row.origin == "alert-group:17"
    channel = incident_channel(fake_slack, 1)
    assert {"U0ALICE01", "U0ERIN001", "U0DAVE001"} <= channel.members
    assert channel.topic == "P2 · Declared · IC <@U0ERIN001>"
    shown = text_of(card(fake_slack, channel))
    assert "<@U0ERIN001>" in shown
    assert "Since 14:00 the index returns nothing" in shown
    declared = (await timeline(flare, 1, "declared"))[0]
    assert declared.data["origin"] == "alert-group:17"
    assert [e.data["user"] for e in await timeline(flare, 1, "role_assigned")] == ["U0ERIN001"]


async def test_modal_validation_errors_are_shown_inline(flare: Flare) -> None:
    reply = await flare.slack.view_submission("incident_declare", view_values(title="  ", severity=None))
    body = reply.json()
    assert body["response_action"] == "errors"
    assert set(body["errors"]) == {"title", "severity"}
    reply = await flare.slack.view_submission(
        "incident_declare", view_values(title="x" * 151, severity="P1", service="nope")
    )
    body = reply.json()
    assert set(body["errors"]) == {"title", "service"}
    assert "150" in body["errors"]["title"]
    assert await incidents(flare) == []


async def test_double_submitted_modal_gives_one_incident_and_one_channel(
    flare: Flare, fake_slack: FakeSlack
) -> None:
    values = view_values(title="Payments timing out", severity="P0", service="checkout")
    first, second = await asyncio.gather(
        flare.slack.view_submission("incident_declare", values, view_id="V0DOUBLE1"),
        flare.slack.view_submission("incident_declare", values, view_id="V0DOUBLE1"),
    )
    third = await flare.slack.view_submission("incident_declare", values, view_id="V0DOUBLE1")
    assert {first.status, second.status, third.status} == {200}
    await settle(flare)
    assert len(await incidents(flare)) == 1
    assert len(fake_slack.calls_to("conversations.create")) == 1
    assert len(fake_slack.posted("C0INCIDENTS")) == 1


async def test_same_command_delivered_twice_declares_once(flare: Flare, fake_slack: FakeSlack) -> None:
    for _ in range(2):
        reply = await flare.slack.command(
            "/incident", "declare P3 typo on the receipt", trigger_id="9.9.same"
        )
        assert "INC-1" in reply.json()["text"]
    await settle(flare)
    assert len(await incidents(flare)) == 1
    assert len(fake_slack.calls_to("conversations.create")) == 1


async def test_name_taken_by_someone_else_gets_a_suffix(flare: Flare, fake_slack: FakeSlack) -> None:
    clock_now = flare.container.clock.now()
    expected = channel_name("inc", clock_now, 1, "db failover")
    fake_slack.add_channel("C0THEIRS01", expected, creator="U0SOMEONE")
    await flare.slack.command("/incident", "declare P1 db failover")
    await settle(flare)
    assert await failed_outbox(flare) == []
    channel = incident_channel(fake_slack, 1)
    assert channel.id != "C0THEIRS01"
    assert channel.name == f"{expected}-2"
    assert card(fake_slack, channel).pinned
    assert fake_slack.posted("C0THEIRS01") == []


async def test_name_taken_by_our_own_channel_is_reused(flare: Flare, fake_slack: FakeSlack) -> None:
    expected = channel_name("inc", flare.container.clock.now(), 1, "db failover")
    ours = fake_slack.add_channel("C0OURS0001", expected, creator=BOT_USER_ID, members={BOT_USER_ID})
    await flare.slack.command("/incident", "declare P1 db failover")
    await settle(flare)
    assert await failed_outbox(flare) == []
    assert card(fake_slack, ours).pinned
    assert len([c for c in fake_slack.channels.values() if c.name.startswith(expected)]) == 1


async def test_channel_prefix_comes_from_the_catalog(
    start_flare: StartFlare, catalog: Catalog, fake_slack: FakeSlack
) -> None:
    custom = catalog.model_copy(
        update={"incidents": catalog.incidents.model_copy(update={"channel_prefix": "sev"})}
    )
    flare = await start_flare(catalog_=custom)
    await flare.slack.command("/incident", "declare P2 Ünïcode & Symbols!! in   title")
    await settle(flare)
    row = await incident(flare, 1)
    assert row.channel_name == f"sev-{row.declared_at:%Y%m%d}-1-unicode-symbols-in-title"
    assert fake_slack.channel_named(row.channel_name) is not None
