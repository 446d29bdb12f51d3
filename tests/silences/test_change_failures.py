"""Alertmanager down, refusing, failing or hanging: the change goes on and its message says so."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest

from tests.cloudrun.conftest import BOB
from tests.cloudrun.helpers import command, message_for, wait_status
from tests.fakes.alertmanager_faults import FaultyAlertmanager
from tests.fakes.cloudrun import FakeService
from tests.fakes.slack import FakeSlack
from tests.silences.conftest import StartAM
from tests.silences.test_change_silences import stored
from tests.support.messages import text_of

CHANNEL = "C0OPSROOM1"


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.mark.parametrize(
    ("mode", "says"),
    [
        ("down", "cannot connect"),
        ("500", "answered 500"),
        ("400", "Alertmanager refused the silence (400"),
        ("hang", "no answer within 2.0 s"),
    ],
)
async def test_a_silence_that_cannot_be_made_never_blocks_the_change(
    start_am: StartAM,
    faulty: FaultyAlertmanager,
    fake_slack: FakeSlack,
    checkout: FakeService,
    mode: str,
    says: str,
) -> None:
    faulty.mode = mode
    url = closed_port_url() if mode == "down" else faulty.url
    flare = await start_am([url], settle=0.1)
    previous = checkout.revisions[-2].name
    _, change = await command(flare, "/rollback", "checkout", user=BOB, channel=CHANNEL)
    started = time.monotonic()
    await flare.slack.block_action("rollback_confirm", str(change), user=BOB, channel=CHANNEL)
    await wait_status(flare, change, "succeeded")
    took = time.monotonic() - started
    assert checkout.serving() == {previous: 100}
    deadline = time.monotonic() + 10
    while (await stored(flare))[0].status == "creating":  # the silence is made alongside the change
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    [row] = await stored(flare)
    assert row.status == "failed"
    assert row.slot is None
    assert says in (row.error or "")
    await fake_slack.wait_for(
        lambda: "Could not silence alerts" in text_of(message_for(fake_slack, CHANNEL, change)), timeout=10
    )
    body = text_of(message_for(fake_slack, CHANNEL, change))
    assert "Could not silence alerts for *checkout*" in body
    assert says in body
    assert "The change goes on" in body
    if mode == "hang":
        assert took < 10, "the 2 s budget bounds the wait"


async def test_the_token_is_sent_as_a_bearer_and_a_missing_variable_is_named(
    start_am: StartAM,
    faulty: FaultyAlertmanager,
    fake_slack: FakeSlack,
    checkout: FakeService,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    faulty.mode = "ok"
    extra = "  token_env: FLARE_TEST_AM_TOKEN\n"
    monkeypatch.setenv("FLARE_TEST_AM_TOKEN", "am-secret-2718")
    flare = await start_am([faulty.url], extra=extra, settle=0.1)
    _, change = await command(flare, "/rollback", "checkout", user=BOB, channel=CHANNEL)
    await flare.slack.block_action("rollback_confirm", str(change), user=BOB, channel=CHANNEL)
    await wait_status(flare, change, "succeeded")
    post, delete = faulty.requests[0], faulty.requests[1]
    assert (post.method, post.path) == ("POST", "/api/v2/silences")
    assert post.headers["Authorization"] == "Bearer am-secret-2718"
    assert (delete.method, delete.path) == ("DELETE", "/api/v2/silence/fake-1")

    monkeypatch.delenv("FLARE_TEST_AM_TOKEN")
    faulty.requests.clear()
    _, change = await command(flare, "/rollback", "checkout", user=BOB, channel=CHANNEL)
    await flare.slack.block_action("rollback_confirm", str(change), user=BOB, channel=CHANNEL)
    await wait_status(flare, change, "succeeded")
    assert faulty.requests == []
    await fake_slack.wait_for(
        lambda: "Could not silence alerts" in text_of(message_for(fake_slack, CHANNEL, change)), timeout=10
    )
    body = text_of(message_for(fake_slack, CHANNEL, change))
    assert "the variable FLARE_TEST_AM_TOKEN (alertmanager credentials) is not set" in body
