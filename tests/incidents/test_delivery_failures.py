"""Slack refuses for good: the person who caused it hears why, the incident records it, no false "posted".

Story: channel creation is limited to admins (restricted_action). The declarer used to be told
"Opening #inc-…" and then nothing; the announcements failed as "depends on incident:1", so on-call was
never pinged; `/incident update` claimed "posted" into a channel that did not exist.
"""

from __future__ import annotations

from tests.conftest import API_TOKEN, Flare, StartFlare
from tests.fakes.slack import FakeSlack
from tests.fakes.slack_people import dms
from tests.incidents.helpers import failed_outbox, incident, incident_channel, view_values
from tests.support.clock import ManualClock
from tests.support.messages import text_of
from tests.support.records import timeline
from tests.support.waits import settle

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}


async def _declare_refused(flare: Flare, fake_slack: FakeSlack, error: str = "restricted_action") -> str:
    fake_slack.fail("conversations.create", status=200, error=error)
    url = fake_slack.response_url("declare")
    reply = await flare.slack.command(
        "/incident", "declare P1 checkout is failing --service checkout", user="U0ALICE01", response_url=url
    )
    assert "INC-1" in reply.json()["text"]
    await settle(flare)
    return url


async def test_refused_channel_announces_without_it_and_tells_the_declarer(
    flare: Flare, fake_slack: FakeSlack
) -> None:
    url = await _declare_refused(flare, fake_slack)

    # The declarer hears it privately, on the command's response_url, with the reason and the fix.
    told = [r for r in fake_slack.responses if r["url"].endswith(url.rsplit("/", 1)[-1])]
    assert len(told) == 1, (
        fake_slack.responses,
        [c.method for c in fake_slack.calls],
        await failed_outbox(flare),
    )
    assert told[0]["response_type"] == "ephemeral"
    assert "restricted_action" in told[0]["text"]
    assert "INC-1" in told[0]["text"]
    assert "admin" in told[0]["text"]

    # Announcements still go out (on-call pinged), without a channel link, saying how to retry.
    for channel in ("C0INCIDENTS", "C0PAYMENTS"):
        posted = fake_slack.posted(channel)
        assert len(posted) == 1
        shown = text_of(posted[0])
        assert "could not be created (restricted_action)" in shown
        assert "/incident channel retry INC-1" in shown
        assert "<#" not in shown
        assert "flare:" not in shown
        buttons = [
            e["action_id"] for b in posted[0].blocks or [] if b["type"] == "actions" for e in b["elements"]
        ]
        assert buttons == ["incident_channel_retry"]
    assert "<!subteam^S0PAYONCALL>" in text_of(fake_slack.posted("C0PAYMENTS")[0])

    # Only the refused call is failed; what needed the channel was cancelled, not left failing one by one.
    assert await failed_outbox(flare) == [("flare.create_channel", "restricted_action")]
    row = await incident(flare, 1)
    assert row.channel_error == "restricted_action"
    assert row.channel_id is None
    recorded = await timeline(flare, 1, "delivery_failed")
    assert len(recorded) == 1
    assert recorded[0].data["error"] == "restricted_action"

    # No command claims "posted" for something that was not.
    reply = await flare.slack.command("/incident", "update INC-1 rolling back", user="U0BOB0001")
    text = reply.json()["text"]
    assert "not posted" in text
    assert "posted in" not in text
    assert "/incident channel retry INC-1" in text

    status = text_of_reply(await flare.slack.command("/incident", "status INC-1"))
    assert "could not be created (restricted_action)" in status
    assert "Slack refused to create the channel" in status

    code, body = await flare.get("/api/incidents/1", headers=AUTH)
    assert code == 200
    assert body["channel"]["error"] == "restricted_action"
    assert [f["data"]["error"] for f in body["delivery_failures"]] == ["restricted_action"]

    code, health = await flare.get("/health/deep")
    outbox = health["services"]["outbox"]
    assert outbox["status"] == "degraded", health
    assert outbox["failed_24h"] == 1
    assert "restricted_action" in outbox["last_failure"]


async def test_channel_retry_opens_the_channel_and_links_the_announcements(
    flare: Flare, fake_slack: FakeSlack
) -> None:
    await _declare_refused(flare, fake_slack)
    reply = await flare.slack.command("/incident", "channel retry INC-1", user="U0BOB0001")
    assert "again" in reply.json()["text"]
    await settle(flare)

    channel = incident_channel(fake_slack, 1)
    row = await incident(flare, 1)
    assert (row.channel_id, row.channel_error, row.channel_name) == (channel.id, None, channel.name)
    assert {"U0ALICE01", "U0BOB0001", "U0CAROL01"} <= channel.members
    assert any(m.pinned for m in fake_slack.posted(channel.id))
    for target in ("C0INCIDENTS", "C0PAYMENTS"):
        (announcement,) = fake_slack.posted(target)
        assert f"<#{channel.id}>" in text_of(announcement)
        assert "could not be created" not in text_of(announcement)
    assert await failed_outbox(flare) == [("flare.create_channel", "restricted_action")]
    assert [e.kind for e in await timeline(flare, 1, "channel_retry")] == ["channel_retry"]

    again = await flare.slack.command("/incident", "channel retry INC-1")
    assert "already has its channel" in again.json()["text"]
    posted = await flare.slack.command("/incident", "update INC-1 rolled back", user="U0BOB0001")
    assert f"posted in <#{channel.id}>" in posted.json()["text"]


async def test_retry_refused_again_tells_who_retried_and_the_button_works(
    flare: Flare, fake_slack: FakeSlack
) -> None:
    await _declare_refused(flare, fake_slack, error="invalid_name")
    fake_slack.fail("conversations.create", status=200, error="too_many_convos_for_team")
    announcement = fake_slack.posted("C0INCIDENTS")[0]
    reply = await flare.slack.block_action(
        "incident_channel_retry",
        value="1",
        user="U0CAROL01",
        channel="C0INCIDENTS",
        message_ts=announcement.ts,
    )
    assert reply.status == 200
    await settle(flare)
    # invalid_name: the retry used the plain name
    tried = [str(c.params["name"]) for c in fake_slack.calls_to("conversations.create")]
    assert tried[-1] == "inc-1"
    told = [r for r in fake_slack.responses if "too_many_convos_for_team" in r["text"]]
    assert len(told) == 1
    assert "archive" in told[0]["text"]
    assert (await incident(flare, 1)).channel_error == "too_many_convos_for_team"
    # The announcement was not touched by the failed retry (its link update was cancelled).
    assert "could not be created" in text_of(fake_slack.posted("C0INCIDENTS")[0])


async def test_modal_declaration_refused_channel_reaches_the_declarer_by_dm(
    flare: Flare, fake_slack: FakeSlack
) -> None:
    fake_slack.fail("conversations.create", status=200, error="restricted_action")
    reply = await flare.slack.view_submission(
        "incident_declare", view_values("db down", "P2"), user="U0DAVE001"
    )
    assert reply.status == 200
    await settle(flare)
    told = [text_of(m) for m in dms(fake_slack, "U0DAVE001")]
    assert any("restricted_action" in t and "INC-1" in t for t in told), told


def text_of_reply(reply: object) -> str:
    """Everything an ephemeral answer shows (text and blocks)."""
    body = reply.json()  # type: ignore[attr-defined]
    parts = [str(body.get("text", ""))]
    for block in body.get("blocks") or []:
        parts.append(str(block))
    return "\n".join(parts)


async def test_a_stale_response_url_gives_way_to_a_dm(start_flare: StartFlare, fake_slack: FakeSlack) -> None:
    clock = ManualClock()
    flare = await start_flare(clock=clock)
    clock.advance(minutes=26)  # Slack accepts a response_url for 30 minutes; Flare uses it for 25
    await _declare_refused(flare, fake_slack)
    assert not [r for r in fake_slack.responses if "restricted_action" in r["text"]]
    told = [text_of(m) for m in dms(fake_slack, "U0ALICE01")]
    assert any("restricted_action" in t and "INC-1" in t for t in told), told
