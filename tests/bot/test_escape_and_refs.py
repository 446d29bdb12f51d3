"""Escaping external text for Slack, truncation within limits, and outbox placeholders."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.slack.escape import escape, link, safe, truncate
from bot.slack.refs import channel_ref, refs_in, resolve, ts_ref


def test_mentions_and_links_render_literally() -> None:
    assert escape("<!channel> ping <@U123> & <https://evil|click>") == (
        "&lt;!channel&gt; ping &lt;@U123&gt; &amp; &lt;https://evil|click&gt;"
    )


@given(st.text())
def test_escaped_text_contains_no_control_characters(text: str) -> None:
    out = escape(text)
    assert "<" not in out
    assert ">" not in out
    assert out.replace("&amp;", "").replace("&lt;", "").replace("&gt;", "").count("&") == 0


@given(st.text(), st.integers(min_value=1, max_value=500))
def test_safe_never_exceeds_the_limit_and_never_splits_an_entity(text: str, limit: int) -> None:
    out = safe(text, limit)
    assert len(out) <= limit
    body = out.removesuffix("…")
    assert "&" not in body.replace("&amp;", "").replace("&lt;", "").replace("&gt;", "")


def test_truncate_marks_the_cut() -> None:
    assert truncate("abcdef", 4) == "abc…"
    assert truncate("abc", 4) == "abc"


def test_link_refuses_urls_that_could_break_out() -> None:
    assert (
        link("https://grafana.example.com/d/1", "Dash <1>")
        == "<https://grafana.example.com/d/1|Dash &lt;1&gt;>"
    )
    assert link("https://x.example.com/a|<!channel>", "x") == "x"
    assert link("javascript:alert(1)", "x") == "x"


def test_escaped_text_cannot_forge_an_outbox_placeholder() -> None:
    forged = escape("<flare:channel:incident:1>")
    assert refs_in({"text": forged}) == set()


def test_placeholders_resolve_in_values_and_inside_text() -> None:
    payload = {
        "channel": channel_ref("inc:1"),
        "ts": ts_ref("m"),
        "blocks": [{"text": f"see <#{channel_ref('inc:1')}>"}],
    }
    assert refs_in(payload) == {"inc:1", "m"}
    resolved = resolve(payload, lambda kind, key: {"channel": "C42", "ts": "1.5"}[kind])
    assert resolved == {"channel": "C42", "ts": "1.5", "blocks": [{"text": "see <#C42>"}]}
