"""Every /incident subcommand, in the incident channel and elsewhere, with their usage errors."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.incidents.models import ActionItem
from tests.conftest import Flare
from tests.fakes.slack import Channel, FakeSlack
from tests.incidents.helpers import action_ids, card, incident, notices
from tests.support.messages import text_of
from tests.support.records import timeline
from tests.support.waits import settle


async def run(flare: Flare, text: str, channel: Channel | str, user: str = "U0ALICE01") -> dict[str, Any]:
    """Send /incident <text> in `channel`; the ephemeral answer."""
    channel_id = channel if isinstance(channel, str) else channel.id
    reply = await flare.slack.command("/incident", text, channel=channel_id, user=user)
    assert reply.status == 200
    body: dict[str, Any] = reply.json()
    assert body["response_type"] == "ephemeral"
    return body


def body_text(body: dict[str, Any]) -> str:
    return body["text"] + str(body.get("blocks", ""))


async def test_status_in_channel_elsewhere_with_id_and_unknown_id(flare: Flare, declared: Channel) -> None:
    inside = await run(flare, "status", declared)
    assert "INC-1" in body_text(inside)
    assert "checkout is failing" in body_text(inside)
    assert all(b["type"] != "actions" for b in inside["blocks"])  # no buttons in the ephemeral copy
    elsewhere = await run(flare, "status", "C0GENERAL")
    assert "not an incident channel" in elsewhere["text"]
    assert "Example" in elsewhere["text"]
    assert "INC-42" in elsewhere["text"]
    by_id = await run(flare, "status INC-1", "C0GENERAL")
    assert "checkout is failing" in body_text(by_id)
    bare = await run(flare, "INC-1", "C0GENERAL")
    assert "checkout is failing" in body_text(bare)
    unknown = await run(flare, "status INC-99", "C0GENERAL")
    assert "INC-99 does not exist" in unknown["text"]


async def test_severity_records_old_and_new_updates_card_topic_and_channel(
    flare: Flare, fake_slack: FakeSlack, declared: Channel
) -> None:
    body = await run(flare, "severity p0", declared, user="U0BOB0001")
    assert "P1 → P0" in body["text"]
    await settle(flare)
    assert (await incident(flare)).severity == "P0"
    changed = await timeline(flare, 1, "severity_changed")
    assert [(e.data["from"], e.data["to"], e.actor) for e in changed] == [("P1", "P0", "U0BOB0001")]
    assert any("P1 → P0" in n for n in notices(fake_slack, declared))
    the_card = card(fake_slack, declared)
    assert the_card.edits >= 1
    assert "P0" in text_of(the_card)
    assert declared.topic.startswith("P0 · Declared")
    announcement = fake_slack.posted("C0INCIDENTS")[0]
    assert announcement.edits >= 1
    assert "P0" in text_of(announcement)

    same = await run(flare, "severity P0", declared)
    assert "already P0" in same["text"]
    for bad in ("severity", "severity P5", "severity P1 P2"):
        reply = await run(flare, bad, declared)
        assert "Usage" in reply["text"], bad
    assert len(await timeline(flare, 1, "severity_changed")) == 1


async def test_assign_commander_and_comms(flare: Flare, fake_slack: FakeSlack, declared: Channel) -> None:
    body = await run(flare, "assign commander <@U0ERIN001|erin>", declared)
    assert "<@U0ERIN001>" in body["text"]
    await run(flare, "assign comms <@U0FRANK01>", declared)
    await settle(flare)
    row = await incident(flare)
    assert (row.commander, row.comms) == ("U0ERIN001", "U0FRANK01")
    assert {"U0ERIN001", "U0FRANK01"} <= declared.members
    assert declared.topic == "P1 · Declared · IC <@U0ERIN001>"
    assigned = await timeline(flare, 1, "role_assigned")
    assert [(e.data["role"], e.data["user"]) for e in assigned] == [
        ("commander", "U0ERIN001"),
        ("comms", "U0FRANK01"),
    ]
    shown = text_of(card(fake_slack, declared))
    assert "<@U0ERIN001>" in shown
    assert "<@U0FRANK01>" in shown

    again = await run(flare, "assign commander <@U0ERIN001>", declared)
    assert "already the commander" in again["text"]
    for bad, problem in {
        "assign commander": "Name a role",
        "assign pilot <@U0ERIN001>": "Unknown role 'pilot'",
        "assign commander @erin": "Escape channels, users, and links",
    }.items():
        reply = await run(flare, bad, declared)
        assert problem in reply["text"], bad
        assert "Example" in reply["text"]


async def test_update_posts_in_channel_and_records(
    flare: Flare, fake_slack: FakeSlack, declared: Channel
) -> None:
    body = await run(flare, "update Rolled back to checkout-00042; error rate falling", declared)
    assert "posted" in body["text"]
    await settle(flare)
    posted = notices(fake_slack, declared)
    assert any("Rolled back to checkout-00042; error rate falling" in n for n in posted)
    updates = await timeline(flare, 1, "update")
    assert [e.text for e in updates] == ["Rolled back to checkout-00042; error rate falling"]
    assert (await incident(flare)).last_update_text == "Rolled back to checkout-00042; error rate falling"
    assert "Rolled back to checkout-00042" in text_of(card(fake_slack, declared))
    # From another channel, with the id: still posted in the incident channel.
    await run(flare, "update INC-1 Still watching", "C0GENERAL")
    await settle(flare)
    assert any("Still watching" in n for n in notices(fake_slack, declared))
    assert fake_slack.posted("C0GENERAL") == []
    empty = await run(flare, "update", declared)
    assert "Usage" in empty["text"]


async def test_note_is_timeline_only(flare: Flare, fake_slack: FakeSlack, declared: Channel) -> None:
    before = len(fake_slack.posted(declared.id))
    body = await run(flare, "note Error spike began right after the 14:02 deploy", declared)
    assert "Noted" in body["text"]
    await settle(flare)
    assert len(fake_slack.posted(declared.id)) == before
    assert [e.text for e in await timeline(flare, 1, "note")] == [
        "Error spike began right after the 14:02 deploy"
    ]


async def test_action_items_with_and_without_owner(flare: Flare, declared: Channel) -> None:
    await run(flare, "action Add an alert on p99 latency <@U0BOB0001|bob>", declared)
    await run(flare, "action Write the runbook for failover", declared)
    async with flare.container.db.sessions() as session:
        items = (await session.execute(select(ActionItem).order_by(ActionItem.id))).scalars().all()
    assert [(i.text, i.owner, i.created_by) for i in items] == [
        ("Add an alert on p99 latency", "U0BOB0001", "U0ALICE01"),
        ("Write the runbook for failover", None, "U0ALICE01"),
    ]
    recorded = await timeline(flare, 1, "action_item")
    assert [e.data["owner"] for e in recorded] == ["U0BOB0001", None]
    only_owner = await run(flare, "action <@U0BOB0001>", declared)
    assert "Usage" in only_owner["text"]


async def test_lifecycle_records_each_transition_with_time_and_actor(
    flare: Flare, fake_slack: FakeSlack, declared: Channel
) -> None:
    await run(flare, "ack", declared, user="U0BOB0001")
    row = await incident(flare)
    assert (row.status, row.acknowledged_by) == ("acknowledged", "U0BOB0001")
    assert row.acknowledged_at is not None
    await run(flare, "mitigate rolled back the bad revision", declared, user="U0CAROL01")
    row = await incident(flare)
    assert (row.status, row.mitigated_by) == ("mitigated", "U0CAROL01")
    await run(flare, "resolve error rate back to baseline", declared, user="U0ALICE01")
    row = await incident(flare)
    assert (row.status, row.resolved_by, row.summary) == (
        "resolved",
        "U0ALICE01",
        "error rate back to baseline",
    )
    assert row.declared_at <= row.acknowledged_at <= row.mitigated_at <= row.resolved_at  # type: ignore[operator]
    await settle(flare)
    the_card = card(fake_slack, declared)
    assert "incident_reopen" in action_ids(the_card)
    assert "incident_ack" not in action_ids(the_card)
    assert "error rate back to baseline" in text_of(the_card)
    assert declared.topic.startswith("P1 · Resolved")

    await run(flare, "reopen", declared, user="U0BOB0001")
    row = await incident(flare)
    assert (row.status, row.resolved_at, row.acknowledged_by) == ("declared", None, "U0BOB0001")
    changes = [(e.data["from"], e.data["to"], e.actor) for e in await timeline(flare, 1, "status_changed")]
    assert changes == [
        ("declared", "acknowledged", "U0BOB0001"),
        ("acknowledged", "mitigated", "U0CAROL01"),
        ("mitigated", "resolved", "U0ALICE01"),
        ("resolved", "declared", "U0BOB0001"),
    ]
    await settle(flare)
    posted = notices(fake_slack, declared)
    assert any("rolled back the bad revision" in n for n in posted)
    assert any("reopened" in n for n in posted)


async def test_resolving_straight_from_declared_fills_skipped_times(flare: Flare, declared: Channel) -> None:
    await run(flare, "resolve false alarm", declared)
    row = await incident(flare)
    assert row.status == "resolved"
    assert row.acknowledged_at == row.mitigated_at == row.resolved_at


async def test_illegal_transitions_get_a_clear_message_and_change_nothing(
    flare: Flare, declared: Channel
) -> None:
    await run(flare, "ack", declared)
    expected = {
        "ack": "INC-1 is already acknowledged",
        "ack now": "takes no text",
    }
    for text, message in expected.items():
        assert message in (await run(flare, text, declared))["text"], text
    await run(flare, "mitigate", declared)
    assert "cannot go back to acknowledged" in (await run(flare, "ack", declared))["text"]
    assert "already mitigated" in (await run(flare, "mitigate", declared))["text"]
    assert "only a resolved incident can be reopened" in (await run(flare, "reopen", declared))["text"]
    await run(flare, "resolve", declared)
    count = len(await timeline(flare))
    resolved = {
        "mitigate": "INC-1 is resolved; reopen it first",
        "ack": "INC-1 is resolved; reopen it first",
        "resolve done": "INC-1 is resolved; reopen it first",
        "severity P0": "INC-1 is resolved; reopen it first",
        "update more news": "INC-1 is resolved; reopen it first",
        "assign commander <@U0ERIN001>": "INC-1 is resolved; reopen it first",
    }
    for text, message in resolved.items():
        assert message in (await run(flare, text, declared))["text"], text
    row = await incident(flare)
    assert (row.status, row.severity, row.commander) == ("resolved", "P1", None)
    assert len(await timeline(flare)) == count
    # Notes and action items are still welcome after resolution.
    await run(flare, "note found the root cause", declared)
    assert len(await timeline(flare)) == count + 1


async def test_timeline_shows_the_last_20_events(flare: Flare, declared: Channel) -> None:
    for i in range(25):
        await run(flare, f"note step {i:02d}", declared)
    body = await run(flare, "timeline", declared)
    shown = body_text(body)
    assert "Showing the last 20 of 26 events" in shown
    assert "step 24" in shown
    assert "step 05" in shown
    assert "step 04" not in shown
    assert "declared" not in shown.split("events.")[1]
    assert len(body["blocks"]) <= 50


async def test_list_shows_open_incidents_by_severity_anywhere(flare: Flare, declared: Channel) -> None:
    await run(flare, "declare P3 typo on receipt", "C0GENERAL")
    await run(flare, "declare P0 payments down --service checkout", "C0GENERAL")
    await run(flare, "declare P2 resolved already", "C0GENERAL")
    await run(flare, "resolve INC-4", "C0GENERAL")
    await settle(flare)
    body = await run(flare, "list", "C0RANDOM01")
    shown = body_text(body)
    assert "3 open incident(s)" in shown
    assert shown.index("INC-3") < shown.index("INC-1") < shown.index("INC-2")
    assert "INC-4" not in shown
    assert f"<#{declared.id}>" in shown


async def test_help_and_unknown_subcommand(flare: Flare) -> None:
    help_text = (await run(flare, "help", "C0GENERAL"))["text"]
    for sub in ("declare", "status", "severity", "assign", "update", "note", "action", "ack", "mitigate"):
        assert sub in help_text
    for sub in ("resolve", "reopen", "timeline", "list"):
        assert sub in help_text
    unknown = await run(flare, "frobnicate", "C0GENERAL")
    assert "Unknown subcommand 'frobnicate'" in unknown["text"]
    assert "Example" in unknown["text"]
