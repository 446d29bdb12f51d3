"""`flare serve` as a process: a channel Slack refuses is announced without it, the declarer is told
why on the command's response_url, and `/incident channel retry` opens it."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from tests.fakes.slack import FakeSlack
from tests.support.messages import text_of
from tests.support.process import server_env, start_server
from tests.support.slack_client import SlackClient

pytestmark = pytest.mark.slow


async def test_refused_channel_end_to_end(fake_slack: FakeSlack, database_url: str, tmp_path: Path) -> None:
    fake_slack.fail("conversations.create", status=200, error="restricted_action")
    server = await start_server(server_env(fake_slack, database_url), tmp_path)
    try:
        async with aiohttp.ClientSession() as session:
            slack = SlackClient(server.url, session)
            url = fake_slack.response_url("declare")
            reply = await slack.command(
                "/incident", "declare P1 checkout is failing --service checkout", response_url=url
            )
            assert "INC-1" in reply.json()["text"]
            await fake_slack.wait_for(
                lambda: any("restricted_action" in r["text"] for r in fake_slack.responses), timeout=15
            )
            await fake_slack.wait_for(lambda: len(fake_slack.posted("C0INCIDENTS")) == 1, timeout=15)
            announced = text_of(fake_slack.posted("C0INCIDENTS")[0])
            assert "could not be created (restricted_action)" in announced

            update = await slack.command("/incident", "update INC-1 rolling back")
            assert "not posted" in update.json()["text"]

            retry = await slack.command("/incident", "channel retry INC-1")
            assert "again" in retry.json()["text"]
            await fake_slack.wait_for(lambda: bool(fake_slack.ok_calls("conversations.create")), timeout=15)
            created = fake_slack.ok_calls("conversations.create")[0].response["channel"]["id"]
            await fake_slack.wait_for(
                lambda: f"<#{created}>" in text_of(fake_slack.posted("C0INCIDENTS")[0]), timeout=15
            )
    finally:
        assert server.terminate() == 0, server.log()
    assert "Traceback" not in server.log()
