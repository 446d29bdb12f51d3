"""`/incident page <team> [message]`, `/incident page` and `/incident oncall [team]`."""

from __future__ import annotations

from tests.conftest import Flare
from tests.fakes.pagerduty import FakePagerDuty
from tests.fakes.slack import FakeSlack
from tests.incidents.helpers import notices
from tests.paging.conftest import DATABASES_KEY, declare, incident_command, pages
from tests.support.records import timeline
from tests.support.waits import settle


async def test_paging_another_team_uses_its_key_and_a_per_team_dedup_key(
    paging_flare: Flare, fake_slack: FakeSlack, fake_pd: FakePagerDuty
) -> None:
    channel = await declare(paging_flare, fake_slack, "P0 checkout is failing --service checkout")
    answer = await incident_command(
        paging_flare, "page databases primary DB refuses connections", channel, user="U0CAROL01"
    )
    assert "Paging databases on-call via PagerDuty for INC-1" in answer
    await fake_pd.wait_for(lambda: len(fake_pd.triggers()) == 2)
    (extra,) = fake_pd.triggers("flare-INC-1-databases")
    assert extra.body["routing_key"] == DATABASES_KEY
    payload = extra.body["payload"]
    assert payload["summary"] == "[P0] INC-1 checkout is failing — primary DB refuses connections"
    assert payload["custom_details"]["paged_by"] == "U0CAROL01"
    assert payload["custom_details"]["message"] == "primary DB refuses connections"
    await fake_slack.wait_for(
        lambda: any("Paged databases on-call via PagerDuty" in n for n in notices(fake_slack, channel))
    )
    (requested,) = await timeline(paging_flare, 1, "page_requested")
    assert (requested.actor, requested.data["team"]) == ("U0CAROL01", "databases")
    # Paging the same team again does not page twice.
    again = await incident_command(paging_flare, "page databases", channel)
    assert "already paged" in again
    # `/incident page` lists who was paged and when.
    listing = await incident_command(paging_flare, "page", channel)
    assert "Paged payments on-call via PagerDuty at" in listing
    assert "Paged databases on-call via PagerDuty at" in listing
    assert "<@U0CAROL01>" in listing
    # Resolving resolves both pages in PagerDuty.
    await incident_command(paging_flare, "resolve done", channel)
    await fake_pd.wait_for(
        lambda: (
            fake_pd.actions("flare-INC-1-databases") == ["trigger", "resolve"]
            and fake_pd.actions("flare-INC-1") == ["trigger", "resolve"]
        )
    )


async def test_unknown_team_team_without_key_and_outside_an_incident_channel(
    paging_flare: Flare, fake_slack: FakeSlack, fake_pd: FakePagerDuty
) -> None:
    channel = await declare(paging_flare, fake_slack, "P3 checkout typo --service checkout")
    unknown = await incident_command(paging_flare, "page dba", channel)
    assert "Unknown team 'dba' (teams: databases, payments, search)" in unknown
    assert "/incident page &lt;team&gt; [message]" in unknown or "/incident page <team> [message]" in unknown
    not_configured = await incident_command(paging_flare, "page search", channel)
    assert "Paging is not configured for team search" in not_configured
    nowhere = await incident_command(paging_flare, "page payments", "C0GENERAL")
    assert "Run this in an incident channel" in nowhere
    by_id = await incident_command(paging_flare, "INC-1 page payments", "C0GENERAL")
    assert "Paging payments on-call" in by_id
    await fake_slack.wait_for(
        lambda: any("Paged payments on-call via PagerDuty" in n for n in notices(fake_slack, channel))
    )
    empty = await incident_command(paging_flare, "page", channel)
    assert "Paged payments on-call" in empty
    await settle(paging_flare)
    assert [p.team for p in await pages(paging_flare)] == ["payments"]


async def test_nobody_paged_yet_and_a_resolved_incident(
    paging_flare: Flare, fake_slack: FakeSlack, fake_pd: FakePagerDuty
) -> None:
    channel = await declare(paging_flare, fake_slack, "P3 checkout typo --service checkout")
    assert "Nobody has been paged for INC-1 yet" in await incident_command(paging_flare, "page", channel)
    await incident_command(paging_flare, "resolve fixed", channel)
    answer = await incident_command(paging_flare, "page payments", channel)
    assert "resolved" in answer
    assert fake_pd.attempts == []


async def test_oncall_lists_who_is_on_call_or_says_how_to_turn_it_on(
    paging_flare: Flare, fake_slack: FakeSlack, fake_pd: FakePagerDuty
) -> None:
    channel = await declare(paging_flare, fake_slack, "P3 checkout typo --service checkout")
    here = await incident_command(paging_flare, "oncall", channel)
    assert "On call for payments" in here
    assert "Level 1: Priya Patel — Payments primary" in here
    assert "Level 2: Sam Lee" in here
    named = await incident_command(paging_flare, "oncall payments", "C0GENERAL")
    assert "Priya Patel" in named
    off = await incident_command(paging_flare, "oncall databases", "C0GENERAL")
    assert "add `api_token_env`" in off
    assert "escalation_policy" in off
    unknown = await incident_command(paging_flare, "oncall nope", "C0GENERAL")
    assert "Unknown team 'nope'" in unknown
    fake_pd.tokens.clear()
    refused = await incident_command(paging_flare, "oncall payments", "C0GENERAL")
    assert "PagerDuty refused the API token (HTTP 401)" in refused


async def test_oncall_answers_within_slacks_budget_when_pagerduty_hangs(
    paging_flare: Flare, fake_pd: FakePagerDuty
) -> None:
    fake_pd.hang = True
    answer = await incident_command(paging_flare, "oncall payments", "C0GENERAL")
    assert "Could not ask PagerDuty who is on call for payments" in answer
    assert "TimeoutError" in answer


async def test_the_declare_modal_shows_who_is_on_call_beside_the_severity(
    paging_flare: Flare, fake_slack: FakeSlack, fake_pd: FakePagerDuty
) -> None:
    reply = await paging_flare.slack.command("/incident", "", user="U0ALICE01")
    assert reply.status == 200
    await fake_slack.wait_for(lambda: len(fake_slack.calls_to("views.update")) == 1)
    opened, updated = fake_slack.views
    assert updated["id"] == opened["id"]
    ids = [b.get("block_id") for b in updated["blocks"]]
    assert ids.index("oncall") == ids.index("severity") + 1
    (context,) = [b for b in updated["blocks"] if b.get("block_id") == "oncall"]
    assert "payments: Priya Patel" in context["elements"][0]["text"]
    assert [b.get("block_id") for b in opened["blocks"]].count("oncall") == 0
    # Submitting the updated modal still declares.
    assert updated["callback_id"] == opened["callback_id"]
