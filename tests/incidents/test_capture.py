"""Messages pinned or given a 📌 in an incident channel become timeline events, once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from bot.db.dedup import InboundKey
from tests.conftest import Flare
from tests.fakes.slack import BOT_USER_ID, Channel, FakeSlack, Message
from tests.support.records import timeline

PERMALINK = "https://flare-test.slack.com/archives/{channel}/p{ts}"


def pin_event(
    channel: Channel, message: Message, *, by: str = "U0BOB0001", permalink: bool = True
) -> dict[str, Any]:
    """A pin_added event as Slack sends it for a pinned message."""
    body: dict[str, Any] = {"type": "message", "user": message.user, "text": message.text, "ts": message.ts}
    if permalink:
        body["permalink"] = PERMALINK.format(channel=channel.id, ts=message.ts.replace(".", ""))
    return {
        "type": "pin_added",
        "user": by,
        "channel_id": channel.id,
        "item": {"type": "message", "channel": channel.id, "message": body, "created": 1, "created_by": by},
        "item_user": message.user,
        "pin_count": "2",
        "pinned_info": {"channel": channel.id, "pinned_by": by, "pinned_ts": 1},
        "event_ts": f"{datetime.now(UTC).timestamp():.6f}",
    }


def reaction_event(
    channel: Channel, message: Message, *, reaction: str = "pushpin", by: str = "U0BOB0001"
) -> dict[str, Any]:
    """A reaction_added event (it carries no message text)."""
    return {
        "type": "reaction_added",
        "user": by,
        "reaction": reaction,
        "item_user": message.user,
        "item": {"type": "message", "channel": channel.id, "ts": message.ts},
        "event_ts": f"{datetime.now(UTC).timestamp():.6f}",
    }


async def wait_complete(flare: Flare, count: int = 1) -> None:
    """Wait until `count` pinned events exist and none is still being fetched."""
    for _ in range(200):
        pinned = await timeline(flare, 1, "pinned")
        if len(pinned) >= count and not any(e.pending_fetch for e in pinned):
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"captures not complete: {[(e.text, e.pending_fetch) for e in pinned]}")


async def test_pinned_message_is_captured_with_time_author_text_and_permalink(
    flare: Flare, fake_slack: FakeSlack, declared: Channel
) -> None:
    message = fake_slack.add_message(declared.id, "DB CPU at 100% since 14:02", user="U0CAROL01")
    reply = await flare.slack.event(pin_event(declared, message))
    assert reply.status == 200
    [pinned] = await timeline(flare, 1, "pinned")
    assert pinned.text == "DB CPU at 100% since 14:02"
    assert pinned.actor == "U0CAROL01"
    assert pinned.occurred_at == datetime.fromtimestamp(float(message.ts), UTC)
    assert pinned.data["permalink"].endswith(message.ts.replace(".", ""))
    assert pinned.data["captured_by"] == "U0BOB0001"
    assert not pinned.pending_fetch


async def test_pushpin_reaction_fetches_the_message_and_its_permalink(
    flare: Flare, fake_slack: FakeSlack, declared: Channel
) -> None:
    message = fake_slack.add_message(
        declared.id, "Customer reports: <!here> checkout spinner", user="U0DAVE001"
    )
    reply = await flare.slack.event(reaction_event(declared, message))
    assert reply.status == 200
    await wait_complete(flare)
    [pinned] = await timeline(flare, 1, "pinned")
    assert pinned.text == "Customer reports: <!here> checkout spinner"  # stored raw, escaped when shown
    assert pinned.actor == "U0DAVE001"
    assert pinned.data["via"] == "reaction"
    assert pinned.data["permalink"] == PERMALINK.format(channel=declared.id, ts=message.ts.replace(".", ""))
    history = fake_slack.ok_calls("conversations.history")
    assert history[-1].params["channel"] == declared.id


async def test_pushpin_on_a_thread_reply_is_found_in_replies(
    flare: Flare, fake_slack: FakeSlack, declared: Channel
) -> None:
    parent = fake_slack.add_message(declared.id, "thread start", user="U0DAVE001")
    reply_msg = fake_slack.add_message(declared.id, "the actual finding", user="U0CAROL01")
    reply_msg.thread_ts = parent.ts
    await flare.slack.event(reaction_event(declared, reply_msg))
    await wait_complete(flare)
    [pinned] = await timeline(flare, 1, "pinned")
    assert (pinned.text, pinned.actor) == ("the actual finding", "U0CAROL01")


async def test_same_event_id_four_times_gives_one_event(
    flare: Flare, fake_slack: FakeSlack, declared: Channel
) -> None:
    message = fake_slack.add_message(declared.id, "rolled back at 14:20", user="U0CAROL01")
    event = pin_event(declared, message)
    replies = [await flare.slack.event(event, event_id="Ev0RETRY0001")]
    for retry in (1, 2, 3):
        replies.append(await flare.slack.event(event, event_id="Ev0RETRY0001", retry_num=retry))
    assert [r.status for r in replies] == [200, 200, 200, 200]
    assert len(await timeline(flare, 1, "pinned")) == 1
    async with flare.container.db.sessions() as session:
        keys = (
            await session.execute(
                select(func.count()).select_from(InboundKey).where(InboundKey.key == "event:Ev0RETRY0001")
            )
        ).scalar_one()
    assert keys == 1


async def test_pin_and_pushpin_on_one_message_is_one_event(
    flare: Flare, fake_slack: FakeSlack, declared: Channel
) -> None:
    message = fake_slack.add_message(declared.id, "root cause: expired cert", user="U0CAROL01")
    await flare.slack.event(reaction_event(declared, message))
    await flare.slack.event(pin_event(declared, message))
    await flare.slack.event(reaction_event(declared, message, by="U0DAVE001"))
    await wait_complete(flare)
    [pinned] = await timeline(flare, 1, "pinned")
    assert pinned.text == "root cause: expired cert"


async def test_pending_capture_is_completed_by_the_tick_after_slack_recovers(
    flare: Flare, fake_slack: FakeSlack, declared: Channel
) -> None:
    message = fake_slack.add_message(declared.id, "captured while Slack was down", user="U0CAROL01")
    fake_slack.fail("conversations.history", status=503, times=1)
    await flare.slack.event(reaction_event(declared, message))
    await fake_slack.wait_for(lambda: len(fake_slack.calls_to("conversations.history")) >= 1)
    await asyncio.sleep(0.1)
    [pinned] = await timeline(flare, 1, "pinned")
    assert pinned.pending_fetch
    status, body = await flare.post("/tasks/tick", headers={"Authorization": "Bearer tick-token-9012"})
    assert status == 200, body
    await wait_complete(flare)
    [pinned] = await timeline(flare, 1, "pinned")
    assert pinned.text == "captured while Slack was down"


async def test_ignored_reactions_channels_and_own_pins(
    flare: Flare, fake_slack: FakeSlack, declared: Channel
) -> None:
    message = fake_slack.add_message(declared.id, "nice work", user="U0CAROL01")
    await flare.slack.event(reaction_event(declared, message, reaction="tada"))
    elsewhere = fake_slack.add_channel("C0RANDOM01", "random")
    other = fake_slack.add_message(elsewhere.id, "not an incident", user="U0CAROL01")
    await flare.slack.event(pin_event(elsewhere, other))
    await flare.slack.event(reaction_event(elsewhere, other))
    card_message = fake_slack.posted(declared.id)[0]
    await flare.slack.event(pin_event(declared, card_message, by=BOT_USER_ID))
    # Even before Flare knows its own user id, the card it pinned itself is not captured.
    flare.container.identity.user_id = None
    await flare.slack.event(pin_event(declared, card_message, by=BOT_USER_ID))
    assert await timeline(flare, 1, "pinned") == []
