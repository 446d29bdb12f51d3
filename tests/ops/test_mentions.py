"""@Flare in a channel: the person who asked gets an ephemeral list of commands, once per event."""

from __future__ import annotations

from typing import Any

from handlers import mentions
from tests.conftest import Flare
from tests.fakes.slack import BOT_ID, FakeSlack
from tests.ops.test_manifest import manifest_commands, registered
from tests.support.waits import settle


def mention(**extra: Any) -> dict[str, Any]:
    """An app_mention event as Slack sends it."""
    event = {
        "type": "app_mention",
        "user": "U0ALICE01",
        "text": "<@U0FLAREBOT> help <!channel>",
        "ts": "1700000000.000300",
        "channel": "C0PAYMENTS",
        "event_ts": "1700000000.000300",
    }
    event.update(extra)
    return event


async def test_a_mention_gets_an_ephemeral_answer_listing_every_command(
    flare: Flare, fake_slack: FakeSlack
) -> None:
    reply = await flare.slack.event(mention())
    assert reply.status == 200
    await settle(flare)
    [answer] = fake_slack.ok_calls("chat.postEphemeral")
    assert answer.params["channel"] == "C0PAYMENTS"
    assert answer.params["user"] == "U0ALICE01"
    assert "thread_ts" not in answer.params
    for command in registered(flare).commands:
        assert f"`{command}`" in answer.params["text"]
    assert "<!channel>" not in answer.params["text"], "nothing the user typed is echoed"
    assert fake_slack.ok_calls("chat.postMessage") == [], "nobody else sees it"


async def test_a_mention_in_a_thread_is_answered_in_that_thread(flare: Flare, fake_slack: FakeSlack) -> None:
    await flare.slack.event(mention(ts="1700000000.000400", thread_ts="1700000000.000100"))
    await settle(flare)
    [answer] = fake_slack.ok_calls("chat.postEphemeral")
    assert answer.params["thread_ts"] == "1700000000.000100"


async def test_retries_of_one_event_answer_once(flare: Flare, fake_slack: FakeSlack) -> None:
    for retry in (None, 1, 2):
        reply = await flare.slack.event(mention(), event_id="Ev0MENTION1", retry_num=retry)
        assert reply.status == 200
    await flare.slack.event(mention(), event_id="Ev0MENTION2")
    await settle(flare)
    assert len(fake_slack.ok_calls("chat.postEphemeral")) == 2


async def test_bots_and_edits_get_no_answer(flare: Flare, fake_slack: FakeSlack) -> None:
    await flare.slack.event(mention(bot_id=BOT_ID))
    await flare.slack.event(mention(subtype="message_changed"))
    await flare.slack.event(mention(user=None))
    await settle(flare)
    assert fake_slack.calls_to("chat.postEphemeral") == []


async def test_the_help_covers_every_command_the_app_registers(flare: Flare) -> None:
    listed = [command for command, _what, _example in mentions.COMMANDS]
    assert sorted(listed) == sorted(map(str, registered(flare).commands))
    assert sorted(listed) == sorted(manifest_commands())
    text = mentions.help_text()
    assert len(text) < 3000
    for _command, _what, example in mentions.COMMANDS:
        assert f"`{example}`" in text
