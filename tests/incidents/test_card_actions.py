"""The summary card's buttons, including double clicks and the update/resolve modals."""

from __future__ import annotations

import asyncio

from tests.conftest import Flare, StartFlare
from tests.fakes.slack import Channel, FakeSlack
from tests.incidents.helpers import card, incident, notices
from tests.support.records import timeline
from tests.support.waits import settle


def modal_text(text: str) -> dict[str, dict[str, object]]:
    """state.values of the update/resolve modal."""
    return {"text": {"value": {"type": "plain_text_input", "value": text}}}


async def test_double_clicked_acknowledge_acknowledges_once(
    flare: Flare, fake_slack: FakeSlack, declared: Channel
) -> None:
    ts = card(fake_slack, declared).ts
    first, second = await asyncio.gather(
        flare.slack.block_action("incident_ack", "1", user="U0BOB0001", channel=declared.id, message_ts=ts),
        flare.slack.block_action("incident_ack", "1", user="U0BOB0001", channel=declared.id, message_ts=ts),
    )
    assert (first.status, second.status) == (200, 200)
    await settle(flare)
    row = await incident(flare)
    assert (row.status, row.acknowledged_by) == ("acknowledged", "U0BOB0001")
    assert len(await timeline(flare, 1, "status_changed")) == 1
    assert len([n for n in notices(fake_slack, declared) if "acknowledged" in n]) == 1
    refused = fake_slack.ok_calls("chat.postEphemeral")
    assert len(refused) == 1
    assert refused[0].params["user"] == "U0BOB0001"
    assert "already acknowledged" in refused[0].params["text"]
    assert "incident_ack" not in str(card(fake_slack, declared).blocks)


async def test_severity_select_changes_severity(
    flare: Flare, fake_slack: FakeSlack, declared: Channel
) -> None:
    reply = await flare.slack.block_action(
        "incident_severity",
        user="U0CAROL01",
        channel=declared.id,
        block_id="incident-actions-1",
        selected_option="P0",
    )
    assert reply.status == 200
    await settle(flare)
    assert (await incident(flare)).severity == "P0"
    assert [e.actor for e in await timeline(flare, 1, "severity_changed")] == ["U0CAROL01"]
    assert declared.topic.startswith("P0")


async def test_post_update_button_opens_modal_and_submission_posts_once(
    flare: Flare, fake_slack: FakeSlack, declared: Channel
) -> None:
    await flare.slack.block_action("incident_update", "1", channel=declared.id, trigger_id="7.7.update")
    await fake_slack.wait_for(lambda: len(fake_slack.views) == 1)
    view = fake_slack.views[0]
    assert view["callback_id"] == "incident_update"
    assert view["trigger_id"] == "7.7.update"
    for _ in range(2):
        reply = await flare.slack.view_submission(
            "incident_update",
            modal_text("Failover complete, watching"),
            user="U0BOB0001",
            view_id=view["id"],
            private_metadata=view["private_metadata"],
        )
        assert reply.status == 200
    await settle(flare)
    assert [e.text for e in await timeline(flare, 1, "update")] == ["Failover complete, watching"]
    assert len([n for n in notices(fake_slack, declared) if "Failover complete" in n]) == 1
    empty = await flare.slack.view_submission(
        "incident_update", modal_text(""), view_id="V0EMPTY01", private_metadata=view["private_metadata"]
    )
    assert empty.json()["response_action"] == "errors"


async def test_resolve_button_modal_then_reopen_button(
    flare: Flare, fake_slack: FakeSlack, declared: Channel
) -> None:
    await flare.slack.block_action("incident_resolve", "1", channel=declared.id)
    await fake_slack.wait_for(lambda: len(fake_slack.views) == 1)
    view = fake_slack.views[0]
    assert view["callback_id"] == "incident_resolve"
    reply = await flare.slack.view_submission(
        "incident_resolve",
        modal_text("Bad config reverted"),
        user="U0CAROL01",
        view_id=view["id"],
        private_metadata=view["private_metadata"],
    )
    assert reply.status == 200
    row = await incident(flare)
    assert (row.status, row.resolved_by, row.summary) == ("resolved", "U0CAROL01", "Bad config reverted")
    # A second resolve modal on the resolved incident shows the reason inline.
    again = await flare.slack.view_submission(
        "incident_resolve", modal_text(""), view_id="V0SECOND1", private_metadata=view["private_metadata"]
    )
    assert "reopen it first" in again.json()["errors"]["text"]
    # A stale "Post update" button on the resolved incident opens nothing and says why, privately.
    await flare.slack.block_action("incident_update", "1", user="U0BOB0001", channel=declared.id)
    await settle(flare)
    assert len(fake_slack.views) == 1
    told = fake_slack.ok_calls("chat.postEphemeral")
    assert [c.params["user"] for c in told] == ["U0BOB0001"]
    assert "reopen it first" in told[0].params["text"]
    assert "incident_reopen" in str(card(fake_slack, declared).blocks)
    await flare.slack.block_action("incident_reopen", "1", user="U0BOB0001", channel=declared.id)
    row = await incident(flare)
    assert (row.status, row.resolved_at) == ("declared", None)


async def test_postmortem_button_answers_privately(
    flare: Flare, fake_slack: FakeSlack, declared: Channel
) -> None:
    reply = await flare.slack.block_action("incident_postmortem", "1", user="U0BOB0001", channel=declared.id)
    assert reply.status == 200
    await settle(flare)
    told = fake_slack.ok_calls("chat.postEphemeral")
    assert len(told) == 1
    assert "/api/incidents/1" in told[0].params["text"]
    assert told[0].params["user"] == "U0BOB0001"


async def test_double_click_landing_on_two_instances_acknowledges_once(
    flare: Flare, start_flare: StartFlare, fake_slack: FakeSlack, declared: Channel
) -> None:
    other = await start_flare()
    ts = card(fake_slack, declared).ts
    replies = await asyncio.gather(
        *(
            instance.slack.block_action("incident_ack", "1", user=user, channel=declared.id, message_ts=ts)
            for instance, user in ((flare, "U0BOB0001"), (other, "U0CAROL01"), (flare, "U0DAVE001"))
        )
    )
    assert [r.status for r in replies] == [200, 200, 200]
    await settle(flare)
    await settle(other)
    assert (await incident(flare)).status == "acknowledged"
    assert len(await timeline(flare, 1, "status_changed")) == 1
    assert len([n for n in notices(fake_slack, declared) if "acknowledged" in n]) == 1
    assert len(fake_slack.ok_calls("chat.postEphemeral")) == 2
