"""Pure pieces of paging: event bodies, dedup keys, PagerDuty's refusal reasons, the card line."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.paging import events, render
from bot.paging.client import _refusal

WHEN = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)


def trigger(**overrides: object) -> dict[str, object]:
    values: dict[str, object] = {
        "key": "flare-INC-42",
        "severity": "P0",
        "human_id": "INC-42",
        "title": "checkout is failing",
        "service": "checkout",
        "commander": "U0BOB0001",
        "declarer": "U0ALICE01",
        "description": "customers see 500s",
        "channel_url": None,
        "paged_by": "U0ALICE01",
        "message": None,
        "when": WHEN,
    }
    values.update(overrides)
    return events.trigger(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("severity", "expected"), [("P0", "critical"), ("P1", "error"), ("P2", "warning"), ("P3", "info")]
)
def test_severities_map_to_pagerduty_severities(severity: str, expected: str) -> None:
    assert trigger(severity=severity)["payload"]["severity"] == expected  # type: ignore[index]


def test_summary_is_cut_to_pagerdutys_limit_with_an_ellipsis() -> None:
    text = events.summary("P0", "INC-42", "x" * 2000)
    assert len(text) == events.SUMMARY_LIMIT
    assert text.startswith("[P0] INC-42 xxx")
    assert text.endswith("…")
    assert events.summary("P1", "INC-7", "checkout  is\nfailing") == "[P1] INC-7 checkout is failing"


def test_trigger_without_a_service_or_channel_still_has_every_required_field() -> None:
    body = trigger(service=None, commander=None)
    payload = body["payload"]
    assert payload["source"] == "flare"  # type: ignore[index]
    assert payload["custom_details"]["commander"] == "unassigned"  # type: ignore[index]
    assert "links" not in body
    assert "routing_key" not in body  # the secret is added only when sending


def test_dedup_keys_round_trip_to_the_incident_number() -> None:
    assert events.dedup_key(42) == "flare-INC-42"
    assert events.dedup_key(42, "databases") == "flare-INC-42-databases"
    assert events.incident_number("flare-INC-42-databases") == 42
    assert events.incident_number("flare-INC-42") == 42
    assert events.incident_number("d3640fbd41094207a1c11e58e46b1662") is None
    assert events.incident_number("flare-INC-x") is None
    with pytest.raises(ValueError, match="unknown event action"):
        events.follow_up("snooze", "flare-INC-1")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            '{"status":"invalid event","message":"Event object is invalid","errors":["Invalid routing key"]}',
            "invalid routing key",
        ),
        ('{"status":"invalid event","message":"Event object is invalid"}', "event object is invalid"),
        ("<html>bad gateway</html>", "HTTP 400"),
    ],
)
def test_refusal_reasons_are_pagerdutys_own_words(body: str, expected: str) -> None:
    assert _refusal(400, body) == expected


def test_the_card_line_escapes_pagerdutys_words() -> None:
    view = render.PageView("payments", "failed", "U0ALICE01", WHEN, None, WHEN, "<bad> & key", True)
    line = render.line(view)
    assert "&lt;bad&gt; &amp; key" in line
    assert "Call the on-call directly." in line
