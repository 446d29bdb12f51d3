"""Declaring (or raising to) a paging severity pages the owning team; Flare's ack and resolve follow."""

from __future__ import annotations

from tests.conftest import Flare
from tests.fakes.pagerduty import FakePagerDuty
from tests.fakes.slack import FakeSlack
from tests.incidents.helpers import card, notices
from tests.paging.conftest import PAYMENTS_KEY, StartPaging, declare, incident_command, pages
from tests.support.messages import text_of
from tests.support.records import timeline
from tests.support.waits import settle


async def test_declaring_a_p0_sends_exactly_one_trigger_with_the_incident_context(
    paging_flare: Flare, fake_slack: FakeSlack, fake_pd: FakePagerDuty
) -> None:
    channel = await declare(paging_flare, fake_slack, "P0 checkout is failing --service checkout")
    await fake_pd.wait_for(lambda: len(fake_pd.triggers()) == 1)
    (trigger,) = fake_pd.triggers()
    body = trigger.body
    assert body["routing_key"] == PAYMENTS_KEY
    assert (body["event_action"], body["dedup_key"]) == ("trigger", "flare-INC-1")
    payload = body["payload"]
    assert payload["summary"] == "[P0] INC-1 checkout is failing"
    assert (payload["severity"], payload["source"]) == ("critical", "checkout")
    assert payload["custom_details"]["declarer"] == "U0ALICE01"
    assert payload["custom_details"]["commander"] == "unassigned"
    assert "description" in payload["custom_details"]
    assert body["links"] == [
        {
            "href": f"https://slack.com/app_redirect?channel={channel.id}",
            "text": "INC-1 incident channel",
        }
    ]
    # The channel and the card say so, with the time.
    await fake_slack.wait_for(
        lambda: any("Paged payments on-call via PagerDuty at" in n for n in notices(fake_slack, channel))
    )
    await settle(paging_flare)
    assert "Paged payments on-call via PagerDuty at" in text_of(card(fake_slack, channel))
    (paged,) = await timeline(paging_flare, 1, "paged")
    assert paged.text == "Paged payments on-call via PagerDuty"
    # Nothing else is sent later (one trigger, not a retry storm).
    assert len(fake_pd.attempts) == 1


async def test_ack_and_resolve_reach_pagerduty_with_the_same_dedup_key(
    paging_flare: Flare, fake_slack: FakeSlack, fake_pd: FakePagerDuty
) -> None:
    channel = await declare(paging_flare, fake_slack, "P1 checkout is failing --service checkout")
    await fake_pd.wait_for(lambda: len(fake_pd.triggers()) == 1)
    assert fake_pd.triggers()[0].body["payload"]["severity"] == "error"
    assert "now acknowledged" in await incident_command(paging_flare, "ack", channel, user="U0BOB0001")
    await fake_pd.wait_for(lambda: fake_pd.actions("flare-INC-1") == ["trigger", "acknowledge"])
    assert "now resolved" in await incident_command(paging_flare, "resolve fixed", channel)
    await fake_pd.wait_for(lambda: fake_pd.actions("flare-INC-1") == ["trigger", "acknowledge", "resolve"])
    assert all(e.body["routing_key"] == PAYMENTS_KEY for e in fake_pd.events)


async def test_ack_right_after_declaring_is_sent_after_the_trigger_even_while_pagerduty_is_down(
    paging_flare: Flare, fake_slack: FakeSlack, fake_pd: FakePagerDuty
) -> None:
    fake_pd.down_status = 503
    channel = await declare(paging_flare, fake_slack, "P0 checkout is failing --service checkout")
    await incident_command(paging_flare, "ack", channel)
    await fake_pd.wait_for(lambda: len(fake_pd.attempts) >= 2)
    fake_pd.down_status = None
    await fake_pd.wait_for(lambda: fake_pd.actions("flare-INC-1") == ["trigger", "acknowledge"], timeout=15)


async def test_lower_severities_do_not_page_until_raised_to_a_paging_one(
    paging_flare: Flare, fake_slack: FakeSlack, fake_pd: FakePagerDuty
) -> None:
    channel = await declare(paging_flare, fake_slack, "P2 checkout is slow --service checkout")
    assert await pages(paging_flare) == []
    await incident_command(paging_flare, "severity P3", channel)
    await settle(paging_flare)
    assert await pages(paging_flare) == []
    await incident_command(paging_flare, "severity P1", channel)
    await fake_pd.wait_for(lambda: len(fake_pd.triggers()) == 1)
    assert fake_pd.triggers()[0].body["payload"]["summary"] == "[P1] INC-1 checkout is slow"
    # Raising further does not page the same team again.
    await incident_command(paging_flare, "severity P0", channel)
    await settle(paging_flare)
    assert len(await pages(paging_flare)) == 1
    assert len(fake_pd.triggers()) == 1


async def test_a_team_without_pagerduty_is_not_paged_and_the_card_says_why(
    paging_flare: Flare, fake_slack: FakeSlack, fake_pd: FakePagerDuty
) -> None:
    channel = await declare(paging_flare, fake_slack, "P0 search is down --service search")
    assert "INC-1" in text_of(card(fake_slack, channel))
    assert "Not paged: paging is not configured for team search" in text_of(card(fake_slack, channel))
    assert await pages(paging_flare) == []
    assert fake_pd.attempts == []


async def test_a_long_title_is_cut_to_pagerdutys_summary_limit(
    paging_flare: Flare, fake_slack: FakeSlack, fake_pd: FakePagerDuty
) -> None:
    await declare(paging_flare, fake_slack, "P0 " + "checkout is failing " * 7 + "--service checkout")
    await fake_pd.wait_for(lambda: len(fake_pd.triggers()) == 1)
    summary = fake_pd.triggers()[0].body["payload"]["summary"]
    assert summary.startswith("[P0] INC-1 checkout is failing")
    assert len(summary) <= 1024


async def test_with_the_console_on_the_page_links_to_the_incident_there_too(
    start_paging: StartPaging, fake_slack: FakeSlack, fake_pd: FakePagerDuty
) -> None:
    flare = await start_paging(
        slack_client_id="1111.2222",
        slack_client_secret="console-client-secret-1234",
        flare_public_url="https://flare.acme.test",
        flare_session_secret="s" * 40,
    )
    channel = await declare(flare, fake_slack, "P0 checkout is failing --service checkout")
    await fake_pd.wait_for(lambda: len(fake_pd.triggers()) == 1)
    (trigger,) = fake_pd.triggers()
    assert trigger.body["links"] == [
        {"href": f"https://slack.com/app_redirect?channel={channel.id}", "text": "INC-1 incident channel"},
        {"href": "https://flare.acme.test/ui/incidents/INC-1", "text": "INC-1 in the Flare console"},
    ]
