"""With the console on, the incident card and each post-mortem upload link to it; with it off, they don't."""

from __future__ import annotations

import json

from tests.conftest import Flare
from tests.console.conftest import StartConsole
from tests.fakes.slack import FakeSlack
from tests.postmortem.helpers import command, declare, uploads
from tests.support.waits import settle


def _card_text(fake: FakeSlack, channel: str) -> str:
    card = next(m for m in fake.posted(channel) if m.blocks and "Declared by" in json.dumps(m.blocks))
    return json.dumps(card.blocks)


async def test_card_and_upload_link_to_the_console(
    start_console: StartConsole, fake_slack: FakeSlack
) -> None:
    flare = await start_console()
    channel = await declare(flare, fake_slack, "P2 checkout is slow --service checkout")
    assert f"<{flare.url}/ui/incidents/INC-1|View in console>" in _card_text(fake_slack, channel)
    await command(flare, "postmortem", channel=channel)
    await settle(flare)
    (upload,) = uploads(fake_slack, channel)
    assert (
        f"<{flare.url}/ui/incidents/INC-1/postmortem?version=1|View in console>" in upload["initial_comment"]
    )


async def test_no_console_link_when_the_console_is_off(flare: Flare, fake_slack: FakeSlack) -> None:
    channel = await declare(flare, fake_slack, "P2 checkout is slow --service checkout")
    assert "View in console" not in _card_text(fake_slack, channel)
    await command(flare, "postmortem", channel=channel)
    await settle(flare)
    (upload,) = uploads(fake_slack, channel)
    assert "View in console" not in upload["initial_comment"]
