"""POST /slack/events verifies Slack's signature before anything else happens."""

from __future__ import annotations

import time

from tests.conftest import Flare
from tests.fakes.slack import FakeSlack


async def test_signed_help_command_round_trips(flare: Flare) -> None:
    reply = await flare.slack.command("/incident", "help")
    assert reply.status == 200
    body = reply.json()
    assert body["response_type"] == "ephemeral"
    assert "/incident" in body["text"]


async def test_bad_signature_is_401_with_json_reason(flare: Flare, fake_slack: FakeSlack) -> None:
    reply = await flare.slack.command("/incident", "help", signature="v0=" + "0" * 64)
    assert reply.status == 401
    assert reply.json()["error"] == "unauthorized"
    assert "signature" in reply.json()["reason"]
    assert [c.method for c in fake_slack.calls if c.method != "auth.test"] == []


async def test_signature_from_another_secret_is_rejected(flare: Flare) -> None:
    flare.slack.secret = "not-the-real-secret"
    reply = await flare.slack.command("/incident", "help")
    assert reply.status == 401


async def test_stale_timestamp_is_rejected_even_when_correctly_signed(flare: Flare) -> None:
    stale = str(int(time.time()) - 301)
    reply = await flare.slack.command("/incident", "help", timestamp=stale)
    assert reply.status == 401


async def test_timestamp_within_five_minutes_is_accepted(flare: Flare) -> None:
    recent = str(int(time.time()) - 290)
    reply = await flare.slack.command("/incident", "help", timestamp=recent)
    assert reply.status == 200


async def test_unknown_subcommand_gets_usage_with_example(flare: Flare) -> None:
    reply = await flare.slack.command("/incident", "frobnicate")
    body = reply.json()
    assert reply.status == 200
    assert body["response_type"] == "ephemeral"
    assert "Usage" in body["text"]
    assert "Example" in body["text"]
