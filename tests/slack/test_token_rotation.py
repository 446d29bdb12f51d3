"""A planned bot-token rotation loses nothing: invalid_auth / token_expired are retried for a grace period."""

from __future__ import annotations

import asyncio
import time

from bot.slack.dispatcher import DispatcherConfig
from bot.slack.outbox import post_message
from tests.conftest import Flare, StartFlare
from tests.fakes.slack import FakeSlack
from tests.slack.test_outbox import items, send, wait_until_settled

ROTATING = DispatcherConfig(lease_seconds=5, poll_interval=0.05, max_backoff=0.2, auth_grace_seconds=30)


async def deep_slack(flare: Flare) -> dict[str, str]:
    status, body = await flare.get("/health/deep")
    assert status in (200, 503), body
    return dict(body["services"]["slack"])


async def test_messages_sent_while_the_token_is_refused_arrive_once_it_works_again(
    start_flare: StartFlare, fake_slack: FakeSlack
) -> None:
    flare = await start_flare(dispatcher_config=ROTATING)
    # The old token is revoked and the new one is not deployed yet: Slack refuses every call.
    fake_slack.fail("chat.postMessage", status=200, error="invalid_auth", times=4)
    fake_slack.fail("auth.test", status=200, error="invalid_auth", times=1_000)
    await send(flare, post_message("C0ROTATE1", text="deploy of checkout finished"))
    deadline = time.monotonic() + 10
    while not fake_slack.calls_to("chat.postMessage") and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    slack = await deep_slack(flare)
    assert slack["status"] == "unhealthy"
    assert "invalid_auth" in slack["detail"]
    assert "held and retried until" in slack["detail"]
    fake_slack.faults.pop("auth.test")  # the new token is deployed
    rows = await wait_until_settled(flare, timeout=15)
    assert [(r.status, r.last_error) for r in rows] == [("sent", None)]
    assert [m.text for m in fake_slack.posted("C0ROTATE1")] == ["deploy of checkout finished"]
    assert (await deep_slack(flare))["status"] == "healthy"


async def test_token_expired_counts_as_rotation_too(start_flare: StartFlare, fake_slack: FakeSlack) -> None:
    flare = await start_flare(dispatcher_config=ROTATING)
    fake_slack.fail("chat.postMessage", status=200, error="token_expired", times=2)
    await send(flare, post_message("C0ROTATE2", text="still here"))
    rows = await wait_until_settled(flare, timeout=15)
    assert [r.status for r in rows] == ["sent"]


async def test_a_token_refused_past_the_grace_period_fails_the_items_with_the_reason(
    start_flare: StartFlare, fake_slack: FakeSlack
) -> None:
    flare = await start_flare(
        dispatcher_config=DispatcherConfig(
            lease_seconds=5, poll_interval=0.05, max_backoff=0.1, auth_grace_seconds=0.5
        )
    )
    fake_slack.fail("chat.postMessage", status=200, error="invalid_auth", times=10_000)
    await send(flare, post_message("C0ROTATE3", text="never delivered"))
    rows = await wait_until_settled(flare, timeout=15)
    assert [(r.status, r.last_error) for r in rows] == [("failed", "invalid_auth")]
    assert len(fake_slack.calls_to("chat.postMessage")) >= 2, "retried during the grace period first"
    assert len(await items(flare)) == 1
