"""Text is escaped exactly once, and one duration() speaks for every surface.

Story: pinned message text (which Slack sends already escaped) showed as `&amp;gt;` in
`/incident timeline`; durations under a minute read "0m" in some places and "37s" in others.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.alerts.render import duration as alert_duration
from bot.durations import duration
from bot.incidents.text import duration as incident_duration
from bot.incidents.text import rich
from bot.postmortem.markdown import duration as postmortem_duration
from bot.slack.escape import escape, unescape
from tests.conftest import Flare
from tests.fakes.slack import Channel, FakeSlack
from tests.incidents.helpers import card
from tests.incidents.test_capture import pin_event
from tests.support.messages import text_of
from tests.support.records import timeline
from tests.support.waits import settle


@given(st.text())
def test_unescape_inverts_escape(text: str) -> None:
    assert unescape(escape(text)) == text


@given(st.text())
def test_slack_text_is_escaped_exactly_once(text: str) -> None:
    as_slack_sends_it = escape(text)
    assert rich(as_slack_sends_it, 10**6, from_slack=True) == escape(text)


def test_one_duration_everywhere() -> None:
    cases = {0: "0s", 40: "40s", 60: "1m", 200: "3m 20s", 3600: "1h", 7500: "2h 5m", 93600: "1d 2h"}
    for seconds, text in cases.items():
        assert duration(seconds) == text
        assert incident_duration(seconds) == alert_duration(seconds) == postmortem_duration(seconds) == text
    assert duration(-5) == "0s"


async def test_pinned_text_reads_right_in_the_timeline(
    flare: Flare, fake_slack: FakeSlack, declared: Channel
) -> None:
    # As Slack sends it: &, < and > escaped, links and mentions as <…> tokens.
    slack_text = "p99 &gt; 2s &amp; rising, <@U0BOB0001> see <https://grafana.example/d/x|the dashboard>"
    message = fake_slack.add_message(declared.id, slack_text, user="U0CAROL01")
    await flare.slack.event(pin_event(declared, message))
    assert [e.text for e in await timeline(flare, 1, "pinned")] == [slack_text]

    reply = await flare.slack.command("/incident", "timeline", channel=declared.id)
    shown = str(reply.json()["blocks"])
    assert "p99 &gt; 2s &amp; rising" in shown
    assert "&amp;gt;" not in shown
    assert "&amp;amp;" not in shown
    assert "<@U0BOB0001>" in shown


async def test_a_status_update_reads_right_on_the_card_and_in_the_channel(
    flare: Flare, fake_slack: FakeSlack, declared: Channel
) -> None:
    # Slash-command text arrives escaped, as Slack sends it.
    reply = await flare.slack.command(
        "/incident", "update p99 &gt; 2s &amp; rising, rolling back", channel=declared.id
    )
    assert reply.status == 200

    def posted() -> str:
        return str([m.blocks for m in fake_slack.posted(declared.id)])

    await fake_slack.wait_for(lambda: "Status update" in posted())
    await settle(flare)
    shown = posted() + text_of(card(fake_slack, declared))
    assert "p99 &gt; 2s &amp; rising, rolling back" in shown
    assert "&amp;gt;" not in shown
    assert "&amp;amp;" not in shown
