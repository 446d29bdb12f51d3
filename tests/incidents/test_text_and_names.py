"""Pure helpers: channel names Slack accepts, escaping that never pings, packing within Slack's limits."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.incidents.lifecycle import IncidentError, check_transition
from bot.incidents.naming import channel_name, looks_like_human_id, parse_human_id
from bot.incidents.summaries import pack
from bot.incidents.text import parse_user, rich

SLACK_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
WHEN = datetime(2026, 3, 14, 9, 26, tzinfo=UTC)


@given(st.text(max_size=300), st.integers(min_value=1, max_value=10**12))
def test_channel_names_are_always_valid_for_slack(title: str, number: int) -> None:
    name = channel_name("inc", WHEN, number, title)
    assert len(name) <= 80
    assert SLACK_NAME.match(name)
    assert name.startswith(f"inc-20260314-{number}")
    assert not name.endswith("-")


@given(st.text(max_size=500))
def test_rich_text_never_contains_a_special_mention(text: str) -> None:
    out = rich(text, 3000)
    assert "<!" not in out
    assert len(out) <= 3000
    # Only user/channel references survive as Slack markup.
    assert all(re.match(r"^<[@#][UWCG][A-Z0-9]+>$", tag) for tag in re.findall(r"<[^<>]*>", out))


def test_rich_text_keeps_user_and_channel_references() -> None:
    assert rich("ask <@U0BOB0001|bob> in <#C0OPS0001|ops> & <!here>", 3000) == (
        "ask <@U0BOB0001> in <#C0OPS0001> &amp; &lt;!here&gt;"
    )
    assert rich("x" * 5000, 100).endswith("…")


def test_parse_user_and_human_ids() -> None:
    assert parse_user("<@U0BOB0001|bob>") == "U0BOB0001"
    assert parse_user("U0BOB0001") == "U0BOB0001"
    assert parse_user("@bob") is None
    assert parse_user("<!channel>") is None
    assert parse_human_id("inc-42") == parse_human_id("INC42") == parse_human_id("42") == 42
    assert looks_like_human_id("INC-7")
    assert not looks_like_human_id("7")


@given(st.lists(st.text(max_size=4000), max_size=200))
def test_pack_stays_within_block_and_text_limits(lines: list[str]) -> None:
    blocks = pack(lines)
    assert len(blocks) <= 45
    assert all(len(b["text"]["text"]) <= 2900 for b in blocks)


def test_transition_rules() -> None:
    assert check_transition("INC-1", "declared", "resolve") == "resolved"
    assert check_transition("INC-1", "resolved", "reopen") == "declared"
    for status, action, message in (
        ("resolved", "mitigate", "INC-1 is resolved; reopen it first"),
        ("mitigated", "ack", "cannot go back to acknowledged"),
        ("declared", "reopen", "only a resolved incident can be reopened"),
    ):
        with pytest.raises(IncidentError, match=re.escape(message)):
            check_transition("INC-1", status, action)  # type: ignore[arg-type]
