"""Durable Slack delivery: the outbox written in a transaction, delivered by the running app's dispatcher."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from bot.settings import Settings
from bot.slack.dispatcher import DispatcherConfig
from bot.slack.models import OutboxItem, SlackRef
from bot.slack.outbox import (
    Outbound,
    create_channel,
    enqueue,
    invite,
    pin_message,
    post_message,
    update_message,
    upload_file,
)
from bot.slack.refs import channel_ref
from tests.conftest import Flare, StartFlare
from tests.fakes.slack import BOT_USER_ID, FakeSlack

FAST = DispatcherConfig(lease_seconds=5, poll_interval=0.05, max_backoff=0.2)


async def send(flare: Flare, *items: Outbound) -> None:
    """Enqueue `items` in one transaction, as a feature would alongside its state change."""
    async with flare.container.transaction() as session:
        for item in items:
            await enqueue(session, item)


async def items(flare: Flare) -> list[OutboxItem]:
    """Every outbox row, in id order."""
    async with flare.container.db.sessions() as session:
        return list((await session.execute(select(OutboxItem).order_by(OutboxItem.id))).scalars())


async def wait_until_settled(flare: Flare, timeout: float = 10.0) -> list[OutboxItem]:
    """Wait until no outbox row is pending; return all rows."""
    deadline = time.monotonic() + timeout
    while True:
        rows = await items(flare)
        if all(r.status != "pending" for r in rows):
            return rows
        if time.monotonic() > deadline:
            raise AssertionError(
                f"still pending: {[(r.id, r.method, r.last_error) for r in rows if r.status == 'pending']}"
            )
        await asyncio.sleep(0.05)


@pytest.fixture
async def fast_flare(start_flare: StartFlare) -> Flare:
    """A Flare whose dispatcher retries quickly."""
    return await start_flare(dispatcher_config=FAST)


async def test_messages_are_delivered_once_in_channel_order(fast_flare: Flare, fake_slack: FakeSlack) -> None:
    await send(fast_flare, *(post_message("C0ORDER01", text=f"message {i}") for i in range(6)))
    await wait_until_settled(fast_flare)
    assert [m.text for m in fake_slack.posted("C0ORDER01")] == [f"message {i}" for i in range(6)]


async def test_update_enqueued_with_the_post_targets_the_delivered_ts(
    fast_flare: Flare, fake_slack: FakeSlack
) -> None:
    await send(
        fast_flare,
        post_message("C0CARD001", text="v1", key="card:1"),
        update_message("card:1", lane="C0CARD001", text="v2"),
    )
    rows = await wait_until_settled(fast_flare)
    assert [r.status for r in rows] == ["sent", "sent"]
    [message] = fake_slack.posted("C0CARD001")
    assert message.text == "v2"
    update = fake_slack.ok_calls("chat.update")[0]
    assert update.params["ts"] == message.ts
    assert update.params["channel"] == "C0CARD001"
    async with fast_flare.container.db.sessions() as session:
        ref = await session.get(SlackRef, "card:1")
    assert ref is not None
    assert (ref.channel_id, ref.ts) == ("C0CARD001", message.ts)


async def test_pending_updates_to_one_message_collapse_into_the_latest(
    fast_flare: Flare, fake_slack: FakeSlack
) -> None:
    await send(
        fast_flare,
        post_message("C0CARD002", text="v0", key="card:2"),
        *(update_message("card:2", lane="C0CARD002", text=f"v{i}") for i in range(1, 6)),
    )
    rows = await wait_until_settled(fast_flare)
    assert [r.status for r in rows] == [
        "sent",
        "superseded",
        "superseded",
        "superseded",
        "superseded",
        "sent",
    ]
    assert [c.params["text"] for c in fake_slack.ok_calls("chat.update")] == ["v5"]
    assert fake_slack.posted("C0CARD002")[0].text == "v5"


async def test_rate_limit_honours_retry_after_and_keeps_order(
    fast_flare: Flare, fake_slack: FakeSlack
) -> None:
    fake_slack.fail("chat.postMessage", status=429, retry_after=1)
    started = time.monotonic()
    await send(fast_flare, post_message("C0RATE001", text="first"), post_message("C0RATE001", text="second"))
    await wait_until_settled(fast_flare)
    calls = fake_slack.calls_to("chat.postMessage")
    assert [c.status for c in calls] == [429, 200, 200]
    assert calls[1].at - calls[0].at >= 0.95, "the retry came before Retry-After elapsed"
    assert [m.text for m in fake_slack.posted("C0RATE001")] == ["first", "second"]
    assert time.monotonic() - started < 8


async def test_server_errors_are_retried_until_delivered(fast_flare: Flare, fake_slack: FakeSlack) -> None:
    fake_slack.fail("chat.postMessage", status=500, times=2)
    fake_slack.fail("chat.postMessage", status=200, error="internal_error")
    await send(fast_flare, post_message("C0RETRY01", text="eventually"))
    [row] = await wait_until_settled(fast_flare)
    assert row.status == "sent"
    assert row.attempts == 4
    assert [c.status for c in fake_slack.calls_to("chat.postMessage")] == [500, 500, 200, 200]
    assert [m.text for m in fake_slack.posted("C0RETRY01")] == ["eventually"]


async def test_outage_then_recovery_delivers_everything_once(
    fast_flare: Flare, fake_slack: FakeSlack
) -> None:
    await fake_slack.stop()
    await send(fast_flare, *(post_message(f"C0OUTAGE{i}", text=f"during outage {i}") for i in range(3)))
    await asyncio.sleep(0.6)
    assert all(r.status == "pending" for r in await items(fast_flare))
    assert all(r.attempts >= 1 for r in await items(fast_flare)), (
        "the dispatcher never tried during the outage"
    )
    await fake_slack.start()
    await wait_until_settled(fast_flare)
    assert sorted(m.text for m in fake_slack.posted()) == [f"during outage {i}" for i in range(3)]


async def test_permanent_error_is_kept_with_its_reason_and_the_lane_moves_on(
    fast_flare: Flare, fake_slack: FakeSlack
) -> None:
    await send(
        fast_flare,
        post_message("C0MISSING1", text="lost channel"),
        post_message("C0FINE0001", text="fine"),
    )
    rows = await wait_until_settled(fast_flare)
    failed = [r for r in rows if r.status == "failed"]
    assert [(r.payload["text"], r.last_error) for r in failed] == [("lost channel", "channel_not_found")]
    assert [m.text for m in fake_slack.posted("C0FINE0001")] == ["fine"]
    status, text = await fast_flare.get("/metrics", headers={"Authorization": "Bearer metrics-token-1234"})
    assert status == 200
    assert 'outbox_failed_total{error="channel_not_found",method="chat.postMessage"} 1.0' in text


async def test_invalid_auth_without_a_grace_period_stops_the_item_instead_of_retrying(
    start_flare: StartFlare, make_settings: Callable[..., Settings], fake_slack: FakeSlack
) -> None:
    no_grace = DispatcherConfig(lease_seconds=5, poll_interval=0.05, max_backoff=0.2, auth_grace_seconds=0)
    flare = await start_flare(make_settings(slack_bot_token="xoxb-revoked-token"), dispatcher_config=no_grace)
    await send(flare, post_message("C0AUTH0001", text="hello"))
    [row] = await wait_until_settled(flare)
    assert (row.status, row.last_error) == ("failed", "invalid_auth")
    assert len(fake_slack.calls_to("chat.postMessage")) == 1


async def test_channel_created_through_the_outbox_is_used_by_later_items(
    fast_flare: Flare, fake_slack: FakeSlack
) -> None:
    key = "incident:7"
    await send(
        fast_flare,
        create_channel(key, name="inc-20261123-7-checkout-down"),
        invite(channel_ref(key), ["U0BOB0001", "U0CAROL01"]),
        post_message(channel_ref(key), text="summary card", key="incident:7:card"),
        pin_message("incident:7:card", lane="ref:" + key),
        post_message("C0INCIDENTS", text=f"New incident in <#{channel_ref(key)}>"),
    )
    rows = await wait_until_settled(fast_flare)
    assert {r.status for r in rows} == {"sent"}
    channel = fake_slack.channel_named("inc-20261123-7-checkout-down")
    assert channel is not None
    assert {"U0BOB0001", "U0CAROL01"} <= channel.members
    [card] = fake_slack.posted(channel.id)
    assert card.pinned
    [announcement] = fake_slack.posted("C0INCIDENTS")
    assert announcement.text == f"New incident in <#{channel.id}>"


async def test_name_taken_by_someone_else_gets_a_suffix(fast_flare: Flare, fake_slack: FakeSlack) -> None:
    fake_slack.add_channel("C0TAKEN001", "inc-taken", creator="U0SOMEONE")
    await send(
        fast_flare,
        create_channel("incident:8", name="inc-taken"),
        post_message(channel_ref("incident:8"), text="hi"),
    )
    await wait_until_settled(fast_flare)
    created = fake_slack.channel_named("inc-taken-2")
    assert created is not None
    assert [m.text for m in fake_slack.posted(created.id)] == ["hi"]
    assert fake_slack.posted("C0TAKEN001") == []


async def test_name_taken_by_our_own_earlier_attempt_reuses_the_channel(
    fast_flare: Flare, fake_slack: FakeSlack
) -> None:
    fake_slack.add_channel("C0OURS0001", "inc-ours", creator=BOT_USER_ID)
    await send(
        fast_flare,
        create_channel("incident:9", name="inc-ours"),
        post_message(channel_ref("incident:9"), text="hi"),
    )
    await wait_until_settled(fast_flare)
    assert [m.text for m in fake_slack.posted("C0OURS0001")] == ["hi"]
    assert fake_slack.channel_named("inc-ours-2") is None


async def test_items_that_depend_on_a_failed_channel_fail_with_the_reason(
    fast_flare: Flare, fake_slack: FakeSlack
) -> None:
    fake_slack.fail("conversations.create", status=200, error="restricted_action")
    await send(
        fast_flare,
        create_channel("incident:10", name="inc-nope"),
        post_message(channel_ref("incident:10"), text="never"),
    )
    rows = await wait_until_settled(fast_flare)
    assert [r.status for r in rows] == ["failed", "failed"]
    assert rows[1].last_error is not None
    assert "restricted_action" in rows[1].last_error
    assert fake_slack.calls_to("chat.postMessage") == []


async def test_dedup_key_makes_enqueue_idempotent(fast_flare: Flare, fake_slack: FakeSlack) -> None:
    for _ in range(3):
        await send(fast_flare, post_message("C0DEDUP001", text="once", dedup_key="announce:42"))
    await wait_until_settled(fast_flare)
    assert [m.text for m in fake_slack.posted("C0DEDUP001")] == ["once"]


async def test_pacing_spaces_posts_in_one_channel_after_a_burst(
    start_flare: StartFlare, fake_slack: FakeSlack
) -> None:
    # Slack's limit is per arrival, the dispatcher paces per send: network jitter between the two
    # is absorbed by one token of headroom, as Slack's own short bursts absorb it in production.
    fake_slack.rate_limit_per_channel = 10.0
    fake_slack.burst = 3
    flare = await start_flare(
        dispatcher_config=DispatcherConfig(poll_interval=0.02, per_channel_rate=10.0, burst=2)
    )
    await send(flare, *(post_message("C0PACED01", text=str(i)) for i in range(8)))
    await wait_until_settled(flare)
    assert fake_slack.rate_limited == 0, "the dispatcher posted faster than the channel allows"
    times = [c.at for c in fake_slack.ok_calls("chat.postMessage")]
    assert times[-1] - times[0] >= (8 - 2) / 10.0 * 0.9
    assert [m.text for m in fake_slack.posted("C0PACED01")] == [str(i) for i in range(8)]


async def test_other_channels_are_not_held_up_by_a_paced_one(
    start_flare: StartFlare, fake_slack: FakeSlack
) -> None:
    flare = await start_flare(
        dispatcher_config=DispatcherConfig(poll_interval=0.02, per_channel_rate=2.0, burst=1)
    )
    await send(
        flare,
        *(post_message("C0BUSY0001", text=str(i)) for i in range(4)),
        post_message("C0QUIET001", text="q"),
    )
    await fake_slack.wait_for(lambda: len(fake_slack.posted("C0QUIET001")) == 1, timeout=1.0)
    assert len(fake_slack.posted("C0BUSY0001")) < 4


async def test_two_dispatchers_on_one_database_send_each_message_once(
    start_flare: StartFlare, fake_slack: FakeSlack
) -> None:
    config = DispatcherConfig(poll_interval=0.02, per_channel_rate=1000.0, burst=1000.0, concurrency=4)
    first = await start_flare(dispatcher_config=config)
    second = await start_flare(dispatcher_config=config)
    expected = []
    for batch in range(4):
        outbound = [
            post_message(f"C0MULTI{c:03d}", text=f"{batch}-{c}-{i}") for c in range(10) for i in range(5)
        ]
        expected.extend(o.payload["text"] for o in outbound)
        await send(first if batch % 2 == 0 else second, *outbound)
    await wait_until_settled(first, timeout=30)
    texts = [m.text for m in fake_slack.posted()]
    assert sorted(texts) == sorted(expected)
    assert len(texts) == len(set(texts)), "a message was delivered twice"
    for c in range(10):
        in_channel = [m.text for m in fake_slack.posted(f"C0MULTI{c:03d}")]
        assert in_channel == [t for t in expected if t.split("-")[1] == str(c)], "per-channel order broken"


async def test_shutdown_finishes_a_send_in_progress(fast_flare: Flare, fake_slack: FakeSlack) -> None:
    fake_slack.delay = 0.5
    await send(fast_flare, post_message("C0SLOW0001", text="in flight"))
    await fake_slack.wait_for(lambda: len(fake_slack.calls_to("chat.postMessage")) == 1, timeout=3)
    await fast_flare.stop()
    [row] = await items_after_stop(fast_flare)
    assert row.status == "sent"
    assert [m.text for m in fake_slack.posted("C0SLOW0001")] == ["in flight"]


async def items_after_stop(flare: Flare) -> list[Any]:
    """Read outbox rows with a fresh engine (the app's own is closed after shutdown)."""
    from bot.db.engine import Database

    db = Database(flare.container.settings.database_url.get_secret_value())
    try:
        async with db.sessions() as session:
            return list((await session.execute(select(OutboxItem))).scalars())
    finally:
        await db.close()


async def test_file_upload_goes_through_files_upload_v2(fast_flare: Flare, fake_slack: FakeSlack) -> None:
    content = "# INC-7 post-mortem\n\n| time | event |\n" + "x" * 5000
    await send(
        fast_flare,
        upload_file(
            "C0FILES001",
            filename="INC-7.md",
            content=content,
            title="INC-7 draft",
            comment="Draft post-mortem",
        ),
    )
    [row] = await wait_until_settled(fast_flare)
    assert row.status == "sent"
    assert [c.method for c in fake_slack.calls if c.method.startswith("files.")] == [
        "files.getUploadURLExternal",
        "files.completeUploadExternal",
    ]
    [stored] = fake_slack.files
    assert stored["channel"] == "C0FILES001"
    assert stored["title"] == "INC-7 draft"
    assert stored["initial_comment"] == "Draft post-mortem"
    assert stored["content"].decode() == content


async def test_write_methods_send_json_and_read_methods_send_parameters(
    flare: Flare, fake_slack: FakeSlack
) -> None:
    await flare.container.slack.call("chat.postMessage", {"channel": "C0ENC00001", "text": "hi"})
    await flare.container.slack.call("conversations.history", {"channel": "C0ENC00001", "limit": 1})
    await flare.container.slack.call("chat.getPermalink", {"channel": "C0ENC00001", "message_ts": "1.2"})
    post = fake_slack.calls_to("chat.postMessage")[0]
    history = fake_slack.calls_to("conversations.history")[0]
    permalink = fake_slack.calls_to("chat.getPermalink")[0]
    assert (post.verb, post.content_type) == ("POST", "application/json")
    assert history.content_type != "application/json"
    assert history.response["ok"] is True
    assert permalink.content_type != "application/json"
    assert permalink.response["ok"] is True
