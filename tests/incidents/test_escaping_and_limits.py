"""External text never pings and never breaks Slack's limits."""

from __future__ import annotations

import json

from tests.conftest import METRICS_TOKEN, Flare
from tests.fakes.slack import FakeSlack
from tests.incidents.helpers import card, failed_outbox, incident_channel, notices, view_values
from tests.support.waits import settle

SENT = ("chat.postMessage", "chat.update", "conversations.setTopic", "chat.postEphemeral")


def everything_sent(fake: FakeSlack) -> str:
    return json.dumps([c.params for c in fake.calls if c.method in SENT], ensure_ascii=False)


async def test_title_with_special_mentions_does_not_ping(flare: Flare, fake_slack: FakeSlack) -> None:
    reply = await flare.slack.command(
        "/incident", "declare P1 <!channel> test <!here> & <!subteam^S0PAYONCALL>"
    )
    assert "<!channel>" not in reply.text
    await settle(flare)
    sent = everything_sent(fake_slack)
    assert "&lt;!channel&gt; test &lt;!here&gt; &amp; &lt;!subteam^S0PAYONCALL&gt;" in sent
    for ping in ("<!channel>", "<!here>", "<!subteam^S0PAYONCALL>"):
        assert ping not in sent
    channel = incident_channel(fake_slack, 1)
    assert channel.name.endswith("-1-channel-test-here-subteam-s0payoncall")


async def test_update_keeps_user_mentions_but_escapes_broadcasts(flare: Flare, fake_slack: FakeSlack) -> None:
    await flare.slack.command("/incident", "declare P2 search slow")
    await settle(flare)
    channel = incident_channel(fake_slack, 1)
    await flare.slack.command(
        "/incident",
        "update <@U0BOB0001|bob> is on it <!everyone> <https://evil.example|click> a<b",
        channel=channel.id,
    )
    await settle(flare)
    [update] = [n for n in notices(fake_slack, channel) if "is on it" in n]
    assert "<@U0BOB0001> is on it &lt;!everyone&gt; &lt;https://evil.example|click&gt; a&lt;b" in update
    assert "<!everyone>" not in everything_sent(fake_slack)


async def test_long_description_updates_and_timeline_are_truncated_not_rejected(
    flare: Flare, fake_slack: FakeSlack
) -> None:
    long_text = "word " * 700  # 3,500 characters
    await flare.slack.view_submission(
        "incident_declare",
        view_values(title="Huge outage", severity="P1", description="<" * 3000),  # 12,000 once escaped
    )
    await settle(flare)
    channel = incident_channel(fake_slack, 1)
    for i in range(30):
        await flare.slack.command("/incident", f"note {i} " + "&<>" * 900, channel=channel.id)
    await flare.slack.command("/incident", "update " + long_text, channel=channel.id)
    await settle(flare)
    assert await failed_outbox(flare) == []
    shown = card(fake_slack, channel)
    assert any("…" in str(b) for b in shown.blocks or [])
    assert all(len(b.get("text", {}).get("text", "")) <= 3000 for b in shown.blocks or [])
    timeline = await flare.slack.command("/incident", "timeline", channel=channel.id)
    body = timeline.json()
    assert len(body["blocks"]) <= 50
    assert all(len(b["text"]["text"]) <= 3000 for b in body["blocks"] if "text" in b)
    assert "…" in json.dumps(body["blocks"], ensure_ascii=False)


async def test_open_incidents_gauge(flare: Flare) -> None:
    for text in ("P0 a", "P0 b", "P2 c"):
        await flare.slack.command("/incident", f"declare {text}")
    await flare.slack.command("/incident", "resolve INC-2")
    status, body = await flare.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert status == 200
    assert 'incidents_open{severity="P0"} 1.0' in body
    assert 'incidents_open{severity="P2"} 1.0' in body
    assert 'incidents_open{severity="P1"} 0.0' in body


async def test_answers_to_mistyped_commands_escape_what_was_typed(flare: Flare) -> None:
    for text in (
        "status <!channel>",
        "assign <!here> <@U0BOB0001>",
        "severity <!everyone>",
        "<!channel> now",
    ):
        reply = await flare.slack.command("/incident", text, channel="C0GENERAL")
        assert reply.status == 200
        assert "<!" not in reply.text, text
        assert "&lt;!" in reply.text, text
