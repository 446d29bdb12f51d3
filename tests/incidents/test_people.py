"""People read as people: display names (from users.info, stored in `people`) in the post-mortem and API,
`<@U…>` in Slack, the id when Slack cannot say.

Story: the post-mortem read "proposed by U0ALICE"; a note `<@U0BOB|bob>` rendered "@bob" while the owner
column said "@U0BOB".
"""

from __future__ import annotations

from sqlalchemy import select

from bot.people.models import Person
from tests.conftest import API_TOKEN, TICK_TOKEN, Flare
from tests.fakes.slack import Channel, FakeSlack
from tests.fakes.slack_people import add_person
from tests.incidents.helpers import card
from tests.support.messages import text_of
from tests.support.waits import settle

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}
TICK = {"Authorization": f"Bearer {TICK_TOKEN}"}


async def _tick(flare: Flare) -> None:
    status, _ = await flare.post("/tasks/tick", headers=TICK)
    assert status == 200


async def test_people_are_named_in_the_postmortem_and_api_and_mentioned_in_slack(
    flare: Flare, fake_slack: FakeSlack, declared: Channel
) -> None:
    add_person(fake_slack, "U0ALICE01", display_name="Alice Liddell")
    add_person(fake_slack, "U0BOB0001", display_name="Bob Stone", real_name="Robert Stone")
    await flare.slack.command("/incident", "note handing over to <@U0BOB0001|bob>", channel=declared.id)
    await flare.slack.command("/incident", "action Add failover drills <@U0BOB0001>", channel=declared.id)
    await flare.slack.command("/incident", "assign comms <@U0MISSING1>", channel=declared.id)
    await _tick(flare)
    async with flare.container.db.sessions() as session:
        rows = {p.id: p for p in (await session.execute(select(Person))).scalars()}
    assert rows["U0ALICE01"].display_name == "Alice Liddell"
    assert (rows["U0BOB0001"].display_name, rows["U0BOB0001"].real_name) == ("Bob Stone", "Robert Stone")
    assert rows["U0MISSING1"].display_name == ""  # Slack could not say: the id is shown

    status, body = await flare.get("/api/incidents/1", headers=AUTH)
    assert status == 200
    assert body["people"]["U0ALICE01"] == "Alice Liddell"
    assert body["people"]["U0BOB0001"] == "Bob Stone"
    assert body["people"]["U0MISSING1"] == "U0MISSING1"
    assert body["declared_by"] == "U0ALICE01"  # ids stay ids; names ride alongside

    await flare.slack.command("/incident", "postmortem", channel=declared.id)
    await settle(flare)
    await fake_slack.wait_for(lambda: bool(fake_slack.files))
    markdown = fake_slack.files[-1]["content"].decode()
    assert "@Alice Liddell" in markdown
    assert "@Bob Stone" in markdown
    assert "@U0BOB0001" not in markdown
    assert "@bob" not in markdown
    assert "@U0MISSING1" in markdown

    # Slack keeps mentions (each reader sees the name in their own client).
    assert "<@U0ALICE01>" in text_of(card(fake_slack, declared))

    # Refreshed at most daily: another tick asks Slack nothing.
    asked = len(fake_slack.calls_to("users.info"))
    await _tick(flare)
    assert len(fake_slack.calls_to("users.info")) == asked
