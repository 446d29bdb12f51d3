"""Generating drafts through the running app: the command, the button, resolve, uploads and versions."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import timedelta

from sqlalchemy import insert

from bot.incidents.models import IncidentEvent
from bot.postmortem import requests
from tests.conftest import Flare, StartFlare
from tests.fakes.slack import FakeSlack
from tests.postmortem.conftest import WORKSPACE, StartPM
from tests.postmortem.helpers import ALICE, BOB, CAROL, command, declare, drafts, ephemerals, uploads
from tests.support.records import timeline
from tests.support.waits import settle


async def test_command_uploads_the_draft_it_stores(pm: Flare, fake_slack: FakeSlack) -> None:
    channel = await declare(pm, fake_slack)
    await command(pm, "note root cause: the orders index was dropped | by migration 0042", channel=channel)
    await command(pm, "action prevent: check indexes in CI <@U0CAROL01|carol>", channel=channel)

    answer = await command(pm, "postmortem", channel=channel)

    assert "draft *v1* of *INC-1*" in answer
    assert f"<#{channel}>" in answer
    (draft,) = await drafts(pm)
    assert (draft.version, draft.generated_by, draft.trigger) == (1, BOB, "command")
    assert draft.sha256 == hashlib.sha256(draft.markdown.encode()).hexdigest()
    await settle(pm)
    (upload,) = uploads(fake_slack)
    assert upload["channel"] == channel
    # The bytes that reached Slack's upload URL are exactly the stored draft.
    assert upload["content"] == draft.markdown.encode("utf-8")
    assert upload["title"] == "INC-1 post-mortem draft v1"
    assert "*v1*" in upload["initial_comment"]
    (complete,) = fake_slack.ok_calls("files.completeUploadExternal")
    assert complete.params["files"][0]["title"] == "INC-1 post-mortem draft v1"
    (url_call,) = fake_slack.ok_calls("files.getUploadURLExternal")
    assert url_call.params["filename"] == "inc-1-postmortem-v1.md"
    markdown = draft.markdown
    assert markdown.startswith("# Post-mortem: INC-1 — checkout is failing\n")
    assert "| Status | **Draft** |" in markdown
    assert "## Root cause\n\n- the orders index was dropped \\| by migration 0042 (@U0BOB0001," in markdown
    assert "| 1 | check indexes in CI | prevent | @U0CAROL01 | open |" in markdown
    assert f"-1-checkout-is-failing]({WORKSPACE}/archives/{channel}) |" in markdown
    (recorded,) = await timeline(pm, kind="postmortem")
    assert (recorded.actor, recorded.data["version"]) == (BOB, 1)


async def test_generating_again_makes_a_version_only_when_something_was_recorded(
    pm: Flare, fake_slack: FakeSlack
) -> None:
    channel = await declare(pm, fake_slack)
    await command(pm, "postmortem", channel=channel)
    again = await command(pm, "postmortem", channel=channel)
    assert "Nothing new was recorded on *INC-1* since draft *v1*" in again
    await command(pm, "update Rolled back; error rate is falling", channel=channel, user=CAROL)
    await settle(pm)  # links to Slack messages are known once Slack has them
    third = await command(pm, "postmortem INC-1", channel="C0ELSEWHERE")
    assert "draft *v2* of *INC-1*" in third
    await settle(pm)

    first, second = await drafts(pm)
    assert (first.version, second.version) == (1, 2)
    assert "Rolled back; error rate is falling" not in first.markdown
    assert "Rolled back; error rate is falling" in second.markdown
    assert [u["content"] for u in uploads(fake_slack, channel)] == [
        first.markdown.encode(),
        second.markdown.encode(),
    ]
    # The status update links to its message in the channel.
    update = next(m for m in fake_slack.posted(channel) if "Rolled back; error rate" in m.text)
    assert f"({WORKSPACE}/archives/{channel}/p{update.ts.replace('.', '')})" in second.markdown


async def test_the_button_generates_and_a_double_click_makes_one_version(
    pm: Flare, start_pm: StartPM, fake_slack: FakeSlack
) -> None:
    channel = await declare(pm, fake_slack)
    other = await start_pm()
    clicks = await asyncio.gather(
        pm.slack.block_action("incident_postmortem", "1", user=CAROL, channel=channel),
        other.slack.block_action("incident_postmortem", "1", user=CAROL, channel=channel),
    )
    assert [c.status for c in clicks] == [200, 200]
    await settle(pm)
    await settle(other)
    assert [d.version for d in await drafts(pm)] == [1]
    assert len(uploads(fake_slack, channel)) == 1
    told = ephemerals(fake_slack, CAROL)
    assert len(told) == 2
    assert sum("draft *v1* of *INC-1* generated" in t for t in told) == 1
    assert sum("Nothing new was recorded on *INC-1* since draft *v1*" in t for t in told) == 1
    assert all("/api/incidents/1/postmortem.md" in t for t in told)
    assert len(await timeline(pm, kind="postmortem")) == 1


async def test_a_replayed_command_returns_the_version_it_made(pm: Flare, fake_slack: FakeSlack) -> None:
    channel = await declare(pm, fake_slack)
    await pm.slack.command("/incident", "postmortem", user=BOB, channel=channel, trigger_id="9.9.pm")
    await command(pm, "note trigger: a config push", channel=channel)
    replay = await pm.slack.command("/incident", "postmortem", user=BOB, channel=channel, trigger_id="9.9.pm")
    assert "Nothing new was recorded" in replay.json()["text"]
    assert [d.version for d in await drafts(pm)] == [1]


async def test_resolving_generates_a_draft_when_the_catalog_says_so(
    start_pm: StartPM, fake_slack: FakeSlack
) -> None:
    flare = await start_pm(on_resolve=True)
    channel = await declare(flare, fake_slack)
    await command(flare, "mitigate traffic moved back to the previous revision", channel=channel)
    answer = await command(flare, "resolve index restored, errors back to baseline", channel=channel)
    assert "resolved" in answer
    await settle(flare)
    (draft,) = await drafts(flare)
    assert (draft.trigger, draft.generated_by) == ("resolve", BOB)
    assert "| Incident status | Resolved |" in draft.markdown
    assert "Resolution summary (@U0BOB0001):\n\nindex restored, errors back to baseline" in draft.markdown
    assert (
        "- traffic moved back to the previous revision (@U0BOB0001 when marking it mitigated"
        in draft.markdown
    )
    (upload,) = uploads(fake_slack, channel)
    assert upload["content"] == draft.markdown.encode()
    assert "on resolve by <@U0BOB0001>" in upload["initial_comment"]
    # Reopening and resolving again gives a second version.
    await command(flare, "reopen", channel=channel)
    await command(flare, "resolve for real this time", channel=channel, user=ALICE)
    assert [d.version for d in await drafts(flare)] == [1, 2]


async def test_resolving_makes_no_draft_by_default(
    flare: Flare, start_flare: StartFlare, fake_slack: FakeSlack
) -> None:
    channel = await declare(flare, fake_slack)
    await command(flare, "resolve done", channel=channel)
    await settle(flare)
    assert await drafts(flare) == []
    assert uploads(fake_slack) == []


async def test_usage_and_unknown_incidents_get_a_clear_answer(pm: Flare, fake_slack: FakeSlack) -> None:
    channel = await declare(pm, fake_slack)
    elsewhere = await command(pm, "postmortem", channel="C0GENERAL")
    assert "not an incident channel" in elsewhere
    assert "/incident postmortem INC-42" in elsewhere
    missing = await command(pm, "postmortem INC-77", channel="C0GENERAL")
    assert "INC-77 does not exist" in missing
    extra = await command(pm, "postmortem please", channel=channel)
    assert "takes no text" in extra
    help_text = await command(pm, "help", channel=channel)
    assert "/incident postmortem" in help_text
    assert await drafts(pm) == []


async def test_a_long_timeline_is_answered_at_once_and_drafted_in_full_right_after(
    pm: Flare, fake_slack: FakeSlack
) -> None:
    channel = await declare(pm, fake_slack)
    declared = (await timeline(pm))[0].occurred_at
    rows = [
        {
            "incident_id": 1,
            "kind": "note" if n % 2 else "alert_fired",
            "text": f"event {n} | with a pipe",
            "actor": BOB,
            "occurred_at": declared + timedelta(seconds=n + 1),
            "recorded_at": declared + timedelta(seconds=n + 1),
            "data": {} if n % 2 else {"alert_id": n, "url": f"https://prometheus.acme.test/a/{n}"},
            "pending_fetch": False,
        }
        for n in range(requests.LARGE_TIMELINE + 100)
    ]
    async with pm.container.transaction() as session:
        await session.execute(insert(IncidentEvent), rows)
    # Asked twice at once (two people, or a double click): both are answered, one version is made.
    answers = await asyncio.gather(
        command(pm, "postmortem", channel=channel, user=CAROL),
        command(pm, "postmortem", channel=channel, user=CAROL),
    )
    assert all(
        f"Drafting the post-mortem of *INC-1* from {len(rows) + 1:,} timeline events" in a for a in answers
    )
    await fake_slack.wait_for(lambda: len(ephemerals(fake_slack, CAROL)) == 2, timeout=20)
    await settle(pm)
    (draft,) = await drafts(pm)
    assert (draft.event_count, draft.generated_by) == (len(rows) + 1, CAROL)
    notes = ephemerals(fake_slack, CAROL)
    assert (
        sum(f"draft *v1* of *INC-1* generated from {len(rows) + 1} timeline events" in n for n in notes) == 1
    )
    assert sum("Nothing new was recorded on *INC-1* since draft *v1*" in n for n in notes) == 1
    (upload,) = uploads(fake_slack, channel)
    assert upload["content"] == draft.markdown.encode()
    table = draft.markdown.split("## Timeline")[1].split("## Supporting information")[0]
    assert table.count("\n| ") == len(rows) + 3  # header, separator, the declaration, every event
    assert f"event {len(rows) - 1} \\| with a pipe" in table
