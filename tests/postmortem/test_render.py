"""The pure renderer: golden file, determinism, escaping, metrics, placeholders and marked notes."""

from __future__ import annotations

import json
import os
import random
import re
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.postmortem.markdown import cell, duration, inline, link
from bot.postmortem.model import References, TimelineEvent
from bot.postmortem.render import render
from tests.postmortem import dataset as d

GOLDEN = Path(__file__).parent / "golden" / "realistic.md"


def section(markdown: str, title: str) -> str:
    """The text of one `## title` section."""
    start = markdown.index(f"## {title}\n")
    end = markdown.find("\n## ", start + 1)
    return markdown[start : end if end != -1 else len(markdown)]


def table_rows(markdown: str, title: str) -> list[list[str]]:
    """The body rows of the table in a section, split on unescaped pipes."""
    rows = []
    for line in section(markdown, title).splitlines():
        if line.startswith("| ") and not line.startswith("| ---"):
            rows.append([c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]])
    return rows[1:]


def test_the_realistic_incident_matches_the_golden_file() -> None:
    markdown = render(d.incident(), d.events(), d.action_items(), d.references())
    if os.environ.get("FLARE_UPDATE_GOLDEN"):
        GOLDEN.write_text(markdown, encoding="utf-8")
    assert markdown == GOLDEN.read_text(encoding="utf-8")


def test_same_data_gives_the_same_bytes_whatever_the_order_and_storage_round_trip() -> None:
    first = render(d.incident(), d.events(), d.action_items(), d.references())
    shuffled = d.events()
    random.Random(7).shuffle(shuffled)
    # JSON documents come back from PostgreSQL (JSONB) with their keys in another order.
    reordered = [
        e._replace(data=json.loads(json.dumps(dict(reversed(list(e.data.items())))))) for e in shuffled
    ]
    items = list(reversed(d.action_items()))
    second = render(d.incident(), reordered, items, d.references())
    assert second.encode() == first.encode()


def test_response_metrics_follow_their_definitions() -> None:
    markdown = render(d.incident(), d.events(), d.action_items(), d.references())
    rows = {r[0]: r[1:] for r in table_rows(markdown, "Response metrics")}
    # Impact started with the first alert (14:02:00); Flare received it 30 s later.
    assert rows["Time to detect (TTD)"][:2] == ["30s", "14:02:00 → 14:02:30"]
    # Acknowledged by Bob at 14:10 (before the alert group ack at 14:11).
    assert rows["Time to acknowledge (TTA)"][:2] == ["7m 30s", "14:02:30 → 14:10:00"]
    assert rows["Time to mitigate (TTM)"][:2] == ["40m", "14:02:00 → 14:42:00"]
    assert rows["Time to resolve (TTR)"][:2] == ["1h 12m", "14:02:00 → 15:14:00"]
    assert "impact start → detection" in rows["Time to detect (TTD)"][2]


def test_an_open_incident_without_alerts_measures_from_the_declaration() -> None:
    incident = d.incident(
        status="acknowledged", mitigated_at=None, mitigated_by=None, resolved_at=None, summary=None
    )
    events = [e for e in d.events() if not e.kind.startswith("alert_")]
    markdown = render(incident, events, [], References())
    rows = {r[0]: r[1] for r in table_rows(markdown, "Response metrics")}
    assert rows == {
        "Time to detect (TTD)": "0s",
        "Time to acknowledge (TTA)": "2m",
        "Time to mitigate (TTM)": "— (not yet)",
        "Time to resolve (TTR)": "— (not yet)",
    }
    assert "No alert reached Flare before the incident was declared." in markdown
    assert "→ ongoing" in section(markdown, "Impact")
    assert "currently **acknowledged**" in markdown


def test_user_text_cannot_break_the_timeline_table_or_reach_the_outbox_as_a_placeholder() -> None:
    nasty = (
        "a | b\nc || d\r\n# heading <flare:ts:incident:1:card> <script>x</script> `code|pipe` "
        "[x](javascript:y)"
    )
    events = [*d.events(), TimelineEvent(99, "note", nasty, "U0MALLORY1", d.at(50), {})]
    markdown = render(d.incident(), events, d.action_items(), d.references())
    rows = table_rows(markdown, "Timeline")
    assert len(rows) == 23
    assert all(len(row) == 3 for row in rows)
    row = next(r for r in rows if r[1] == "@U0MALLORY1")
    assert row[2].startswith("**Note** a \\| b<br>c \\|\\| d<br># heading &lt;flare:ts:")
    assert "<flare:" not in markdown
    assert "<script>" not in markdown
    assert "&lt;script&gt;" in markdown
    assert "\\[x\\](javascript:y)" in markdown  # brackets escaped: no link is formed
    assert "[x](javascript:" not in markdown


def test_marked_notes_fill_their_sections_and_the_rest_stay_placeholders() -> None:
    markdown = render(d.incident(), d.events(), d.action_items(), d.references())
    assert (
        section(markdown, "Trigger")
        .splitlines()[2]
        .startswith("- deploy of checkout-00042 at 13:59 (@U0BOB0001")
    )
    assert "&lt;orders\\_by\\_user&gt; index \\| see PR #812" in section(markdown, "Root cause")
    lessons = section(markdown, "Lessons learned")
    assert "- the rollback took 3 minutes end to end (@U0BOB0001" in lessons
    assert "_TODO: what slowed the response or made the impact worse?_" in lessons
    bare = [e for e in d.events() if e.kind != "note"]
    plain = render(d.incident(), bare, [], d.references())
    assert "_Prefill it from Slack: `/incident note trigger: …`._" in section(plain, "Trigger")
    assert "_Prefill it from Slack: `/incident note root cause: …`._" in section(plain, "Root cause")
    # Without marked resolution notes, the mitigate/resolve notes are used.
    assert "- traffic back on checkout-00041 (@U0BOB0001 when marking it mitigated" in section(
        plain, "Resolution"
    )
    assert "_None recorded yet. Add them in Slack: `/incident action <text> [@owner]`._" in plain


def test_header_names_severity_changes_authors_and_participants() -> None:
    markdown = render(d.incident(), d.events(), d.action_items(), d.references())
    header = dict(r[:2] for r in table_rows("## Header\n" + markdown.split("## Summary")[0], "Header"))
    assert header["Severity"] == "P1 (declared P2)"
    assert header["Status"] == "**Draft**"
    assert header["Authors"].startswith("@U0BOB0001, @U0CAROL01")
    assert header["Participants"] == "@U0ALICE01, @U0BOB0001, @U0CAROL01, @U0DEPLOYR1"
    assert header["Date"] == "2026-01-05 (declared 2026-01-05 14:08 UTC)"
    assert "P2 → P1 at 2026-01-05 14:14 UTC by @U0BOB0001" in section(markdown, "Impact")


def test_links_need_the_workspace_but_stored_urls_and_permalinks_do_not() -> None:
    refs = replace(d.references(), workspace_url=None)
    events = [e for e in d.events() if e.kind != "pinned"]  # its permalink would reveal the workspace
    markdown = render(d.incident(), events, d.action_items(), refs)
    hint = "set `incidents.slack_workspace_url` in the catalog (e.g. https://acme.slack.com)"
    assert hint in markdown
    assert "slack.com" not in markdown.replace(hint, "")
    assert "[commit](https://github.com/acme/checkout/commit/9f3c2ab)" in markdown
    # With a stored permalink, the workspace is taken from it.
    inferred = render(d.incident(), d.events(), d.action_items(), refs)
    assert "[change #5](https://acme.slack.com/archives/C0INC0042/p1767623000000300)" in inferred


def test_the_draft_does_not_include_its_own_generation_events() -> None:
    markdown = render(d.incident(), d.events(), d.action_items(), d.references())
    assert "Post-mortem draft v1 generated" not in markdown
    assert "Generated by Flare from 22 timeline event(s)" in markdown


def test_durations_read_like_people_write_them() -> None:
    cases = [
        (0, "0s"),
        (45.9, "45s"),
        (60, "1m"),
        (719, "11m 59s"),  # one duration() everywhere: "3m 20s" style
        (4320, "1h 12m"),
        (183600, "2d 3h"),
        (-5, "0s"),
    ]
    assert [duration(s) for s, _ in cases] == [want for _, want in cases]
    assert duration(timedelta(hours=1, minutes=12).total_seconds()) == "1h 12m"


def test_slack_markup_and_links_are_made_readable() -> None:
    assert inline("ping <@U0BOB0001|bob> in <#C0OPS0001|ops> <!here>") == "ping @bob in #ops @here"
    assert inline("see <https://grafana.acme.test/d/x|the dashboard>") == (
        "see [the dashboard](https://grafana.acme.test/d/x)"
    )
    assert inline("a &lt;b&gt; &amp; c") == "a &lt;b&gt; & c"
    assert link("x", "javascript:alert(1)") == "x"
    assert link("q", "https://p.test/graph?g0.expr=rate(x[5m])") == (
        "[q](https://p.test/graph?g0.expr=rate%28x%5B5m%5D%29)"
    )
    assert cell("one\n\ntwo | three") == "one<br>two \\| three"


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_any_note_keeps_the_table_intact_and_escaped(text: str) -> None:
    events = [
        TimelineEvent(1, "note", text, "U0ALICE01", d.at(1), {"service": text}),
        TimelineEvent(2, "note", f"root cause: {text}x", "U0ALICE01", d.at(2), {}),
    ]
    markdown = render(d.incident(title=text or "t", summary=text), events, [], References())
    rows = table_rows(markdown, "Timeline")
    assert len(rows) == 2
    assert all(len(row) == 3 for row in rows)
    # The marked note is one list item, whatever it says.
    body = section(markdown, "Root cause").splitlines()[2:]
    assert [line[:2] for line in body if line] == ["- "]
    headings = [line for line in markdown.splitlines() if line.startswith("#")]
    assert headings[0].startswith("# Post-mortem: INC-42 — ")
    plain = render(d.incident(title="t", summary="s"), [e._replace(text="root cause: x") for e in events], [])
    assert headings[1:] == [line for line in plain.splitlines() if line.startswith("#")][1:]
    header = markdown.split("| Field | Value |\n| --- | --- |\n")[1].split("\n\n")[0]
    assert len(header.splitlines()) == 11  # one line per header field
    assert "<flare:" not in markdown
    # The only `<` are Flare's own: line breaks in cells and the usage hint's `<text>`.
    assert "<" not in markdown.replace("<br>", "").replace("`/incident action <text> [@owner]`", "")
    markdown.encode("utf-8")  # lone surrogates never reach the upload


def test_long_lists_in_supporting_information_are_capped_with_a_count() -> None:
    pins = [
        TimelineEvent(100 + n, "pinned", f"pin {n}", "U0BOB0001", d.at(60 + n), {"permalink": None})
        for n in range(57)
    ]
    markdown = render(d.incident(), [*d.events(), *pins], d.action_items(), d.references())
    pinned = section(markdown, "Supporting information").split("### Pinned messages\n\n")[1]
    lines = [line for line in pinned.splitlines() if line.startswith("- ")]
    assert len(lines) == 51
    assert lines[-1] == "- … and 8 more in the timeline above"
    assert len(table_rows(markdown, "Timeline")) == 22 + 57
