"""POST /webhooks/alertmanager: auth, malformed bodies, storage, dedup across HA peers, resolve."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from tests.alerts.conftest import (
    AM_TOKEN,
    am_alert,
    am_payload,
    basic,
    bearer,
    block_text,
    stored_alerts,
    stored_groups,
)
from tests.conftest import Flare
from tests.fakes.slack import FakeSlack

URL = "/webhooks/alertmanager"


async def post(flare: Flare, payload: Any, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    return await flare.post(URL, json=payload, headers=headers if headers is not None else bearer(AM_TOKEN))


def checkout(name: str = "HighLatency", **kw: Any) -> dict[str, Any]:
    return am_alert(name, service="checkout", severity="critical", **kw)


async def test_valid_payload_is_stored_and_posted_once_in_the_routed_channel(
    alerts_flare: Flare, fake_slack: FakeSlack
) -> None:
    payload = am_payload(checkout(instance="a"), checkout(instance="b"), checkout(instance="c"))
    status, body = await post(alerts_flare, payload)

    assert status == 200
    assert body["stored"] == 3
    assert body["duplicates"] == 0
    rows = await stored_alerts(alerts_flare)
    assert [(r.source, r.status, r.service, r.severity) for r in rows] == [
        ("alertmanager", "firing", "checkout", "critical")
    ] * 3
    assert {r.labels["instance"] for r in rows} == {"a", "b", "c"}
    (group,) = await stored_groups(alerts_flare)
    assert (group.channel, group.route, group.severity, group.firing, group.total) == (
        "C0PAYCRIT",
        "checkout-critical",
        "P1",
        3,
        3,
    )
    await fake_slack.wait_for(lambda: len(fake_slack.posted("C0PAYCRIT")) == 1)
    (message,) = fake_slack.posted("C0PAYCRIT")
    text = block_text(message.blocks)
    assert "[P1] HighLatency" in text
    assert "*3 firing* · 0 resolved" in text
    assert "<!subteam^S0PAYONCALL>" in text
    assert "p99 latency above 2s" in text
    assert "<http://prometheus.example/graph?g0.expr=up|source>" in text
    assert [c.params["channel"] for c in fake_slack.calls_to("chat.postMessage")] == ["C0PAYCRIT"]


async def test_missing_or_wrong_credentials_are_401_and_store_nothing(
    alerts_flare: Flare, fake_slack: FakeSlack
) -> None:
    payload = am_payload(checkout())
    for headers in (
        {},
        bearer("not-the-token"),
        bearer(AM_TOKEN + "x"),
        basic("alertmanager", AM_TOKEN),
        {"Authorization": AM_TOKEN},
    ):
        status, body = await post(alerts_flare, payload, headers)
        assert status == 401, headers
        assert body["error"] == "unauthorized"
        assert "Bearer" in body["reason"]
        assert AM_TOKEN not in body["reason"]
    assert await stored_alerts(alerts_flare) == []
    failures = alerts_flare.container.metrics.registry.get_sample_value(
        "webhook_auth_failures_total", {"source": "alertmanager"}
    )
    assert failures == 5
    await asyncio.sleep(0.3)
    assert fake_slack.calls_to("chat.postMessage") == []


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        (b"", "body", "empty"),
        (b"   ", "body", "empty"),
        (b"{not json", "body", "not valid JSON"),
        (b"\xff\xfe{}", "body", "not UTF-8"),
        (b"[]", "body", "expected an object, got an array"),
        (b"{}", "alerts", "required"),
        (b'{"alerts": {}}', "alerts", "expected an array"),
        (b'{"alerts": [7]}', "alerts[0]", "expected an object, got a number"),
        (
            b'{"alerts": [{"startsAt": "2026-01-05T10:00:00Z"}, {"labels": [], "startsAt": "x"}]}',
            "alerts[1].labels",
            "expected an object, got an array",
        ),
        (
            b'{"alerts": [{"labels": {"severity": 3}, "startsAt": "2026-01-05T10:00:00Z"}]}',
            "alerts[0].labels.severity",
            "expected a string",
        ),
        (b'{"alerts": [{"labels": {}}]}', "alerts[0].startsAt", "required"),
        (b'{"alerts": [{"labels": {}, "startsAt": "yesterday"}]}', "alerts[0].startsAt", "RFC 3339"),
        (
            b'{"alerts": [{"status": "pending", "startsAt": "2026-01-05T10:00:00Z"}]}',
            "alerts[0].status",
            "firing",
        ),
        (b'{"alerts": [], "groupLabels": "x"}', "groupLabels", "expected an object"),
    ],
)
async def test_malformed_bodies_are_400_naming_the_field(
    alerts_flare: Flare, body: bytes, field: str, words: str
) -> None:
    headers = {**bearer(AM_TOKEN), "Content-Type": "application/json"}
    status, answer = await alerts_flare.post(URL, data=body, headers=headers)
    assert status == 400
    assert answer["error"] == "bad_request"
    assert answer["field"] == field
    assert answer["reason"].startswith(f"{field}: ")
    assert words in answer["reason"]
    assert await stored_alerts(alerts_flare) == []


async def test_a_body_over_the_limit_is_413_with_or_without_content_length(alerts_flare: Flare) -> None:
    huge = b'{"alerts": [' + b'{"labels": {"x": "' + b"y" * (8 * 1024 * 1024 + 10) + b'"}}]}'  # over 8 MiB
    status, answer = await alerts_flare.post(URL, data=huge, headers=bearer(AM_TOKEN))
    assert status == 413
    assert answer["error"] == "payload_too_large"

    async def chunks() -> Any:
        for start in range(0, len(huge), 65536):
            yield huge[start : start + 65536]

    status, answer = await alerts_flare.post(URL, data=chunks(), headers=bearer(AM_TOKEN))
    assert status == 413
    assert await stored_alerts(alerts_flare) == []


async def test_ha_peers_sending_the_same_group_store_it_once(
    alerts_flare: Flare, fake_slack: FakeSlack
) -> None:
    payload = am_payload(checkout(instance="a"), checkout(instance="b"))
    answers = await asyncio.gather(*(post(alerts_flare, payload) for _ in range(4)))
    assert [status for status, _ in answers] == [200] * 4
    assert sum(body["stored"] for _, body in answers) == 2
    assert sum(body["duplicates"] for _, body in answers) == 6
    status, later = await post(alerts_flare, payload)  # and a retry much later
    assert (status, later["stored"], later["duplicates"]) == (200, 0, 2)

    assert len(await stored_alerts(alerts_flare)) == 2
    (group,) = await stored_groups(alerts_flare)
    assert (group.firing, group.total) == (2, 2)
    await fake_slack.wait_for(lambda: len(fake_slack.posted("C0PAYCRIT")) == 1)
    await asyncio.sleep(1.5)  # past the update window: duplicates changed nothing, so nothing to update
    assert len(fake_slack.calls_to("chat.postMessage")) == 1
    assert fake_slack.calls_to("chat.update") == []


async def test_resolve_closes_the_alerts_and_the_message_shows_a_check_and_the_duration(
    alerts_flare: Flare, fake_slack: FakeSlack
) -> None:
    a, b = checkout(instance="a"), checkout(instance="b")
    await post(alerts_flare, am_payload(a, b))
    await fake_slack.wait_for(lambda: len(fake_slack.posted("C0PAYCRIT")) == 1)

    resolved_a = {**a, "status": "resolved", "endsAt": "2026-01-05T10:05:00Z"}
    status, body = await post(alerts_flare, am_payload(resolved_a, b))
    assert (status, body["resolved"], body["duplicates"]) == (200, 1, 1)
    message = fake_slack.posted("C0PAYCRIT")[0]
    await fake_slack.wait_for(lambda: "*1 firing* · 1 resolved" in block_text(message.blocks))
    assert "✅" not in block_text(message.blocks).split("\n")[0]

    resolved_b = {**b, "status": "resolved", "endsAt": "2026-01-05T10:12:30Z"}
    status, body = await post(alerts_flare, am_payload(resolved_a, resolved_b))
    assert (status, body["resolved"], body["duplicates"]) == (200, 1, 1)
    await fake_slack.wait_for(lambda: "resolved after 12m 30s" in block_text(message.blocks))
    first_line = block_text(message.blocks).split("\n")[0]
    assert first_line.startswith("✅")
    assert message.text.startswith("✅ Resolved")
    assert "alert_ack" not in str(message.blocks)  # nothing left to acknowledge

    rows = await stored_alerts(alerts_flare)
    assert sorted((r.labels["instance"], r.status, r.ends_at.isoformat()) for r in rows) == [
        ("a", "resolved", "2026-01-05T10:05:00+00:00"),
        ("b", "resolved", "2026-01-05T10:12:30+00:00"),
    ]
    (group,) = await stored_groups(alerts_flare)
    assert group.firing == 0
    assert group.resolved_at is not None
    assert len(fake_slack.calls_to("chat.postMessage")) == 1


async def test_a_new_firing_after_a_resolve_is_a_new_occurrence_and_a_new_message(
    alerts_flare: Flare, fake_slack: FakeSlack
) -> None:
    first = checkout(fingerprint="f00d", starts="2026-01-05T10:00:00Z")
    await post(alerts_flare, am_payload(first))
    await post(alerts_flare, am_payload({**first, "status": "resolved", "endsAt": "2026-01-05T10:03:00Z"}))
    again = checkout(fingerprint="f00d", starts="2026-01-05T11:00:00Z")
    status, body = await post(alerts_flare, am_payload(again))
    assert (status, body["stored"]) == (200, 1)

    rows = await stored_alerts(alerts_flare)
    assert [(r.dedup_key, r.status, r.starts_at.hour) for r in rows] == [
        ("f00d", "resolved", 10),
        ("f00d", "firing", 11),
    ]
    groups = await stored_groups(alerts_flare)
    assert [(g.firing, g.resolved_at is None) for g in groups] == [(0, False), (1, True)]
    await fake_slack.wait_for(lambda: len(fake_slack.posted("C0PAYCRIT")) == 2)


async def test_a_late_resolve_of_an_old_occurrence_does_not_close_the_new_one(alerts_flare: Flare) -> None:
    old = checkout(fingerprint="beef", starts="2026-01-05T09:00:00Z")
    new = checkout(fingerprint="beef", starts="2026-01-05T10:00:00Z")
    await post(alerts_flare, am_payload(new))
    status, body = await post(
        alerts_flare, am_payload({**old, "status": "resolved", "endsAt": "2026-01-05T09:30:00Z"})
    )
    assert (status, body["resolved"], body["duplicates"]) == (200, 0, 1)
    rows = await stored_alerts(alerts_flare)
    assert [(r.starts_at.hour, r.status) for r in rows] == [(10, "firing")]


async def test_a_firing_with_a_newer_start_replaces_an_occurrence_whose_resolve_was_missed(
    alerts_flare: Flare,
) -> None:
    await post(alerts_flare, am_payload(checkout(fingerprint="cafe", starts="2026-01-05T09:00:00Z")))
    await post(alerts_flare, am_payload(checkout(fingerprint="cafe", starts="2026-01-05T10:00:00Z")))
    rows = await stored_alerts(alerts_flare)
    assert [(r.starts_at.hour, r.status, r.ends_at and r.ends_at.hour) for r in rows] == [
        (9, "resolved", 10),
        (10, "firing", None),
    ]
    (group,) = await stored_groups(alerts_flare)
    assert (group.firing, group.total) == (1, 2)


async def test_basic_auth_is_accepted_when_configured(
    start_alerts: Any, monkeypatch: pytest.MonkeyPatch, fake_slack: FakeSlack
) -> None:
    from bot.catalog import parse_catalog
    from tests.alerts.conftest import alert_catalog_text

    text = alert_catalog_text().replace(
        "  alertmanager:\n    token_env: FLARE_TEST_AM_TOKEN\n",
        "  alertmanager:\n    username: am\n    password_env: FLARE_TEST_AM_PASSWORD\n",
    )
    monkeypatch.setenv("FLARE_TEST_AM_PASSWORD", "s3cret-password")
    flare = await start_alerts(parse_catalog(text))
    status, _ = await post(flare, am_payload(checkout()), basic("am", "s3cret-password"))
    assert status == 200
    status, _ = await post(flare, am_payload(checkout()), basic("am", "wrong-password"))
    assert status == 401
    status, _ = await post(flare, am_payload(checkout()), bearer(AM_TOKEN))
    assert status == 401


async def test_an_unset_secret_variable_is_503_so_the_sender_retries(
    start_alerts: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FLARE_TEST_AM_TOKEN")
    flare = await start_alerts()
    status, body = await post(flare, am_payload(checkout()))
    assert status == 503
    assert "FLARE_TEST_AM_TOKEN" not in body["reason"]


async def test_a_source_missing_from_the_catalog_answers_404(start_flare: Any) -> None:
    flare = await start_flare()  # the plain test catalog has no webhooks section
    status, body = await post(flare, am_payload(checkout()))
    assert status == 404
    assert "webhooks.alertmanager" in body["reason"]


async def test_session_reuse_does_not_confuse_auth(alerts_flare: Flare) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.post(
            alerts_flare.url + URL, json=am_payload(checkout()), headers=bearer(AM_TOKEN)
        ) as r:
            assert r.status == 200
        async with session.post(alerts_flare.url + URL, json=am_payload(checkout())) as r:
            assert r.status == 401


async def test_a_resolve_for_an_alert_never_seen_firing_is_stored_and_shown_resolved(
    alerts_flare: Flare, fake_slack: FakeSlack
) -> None:
    resolved = {**checkout(), "status": "resolved", "endsAt": "2026-01-05T10:02:00Z"}
    status, body = await post(alerts_flare, am_payload(resolved))
    assert (status, body["stored"]) == (200, 1)
    (row,) = await stored_alerts(alerts_flare)
    assert row.status == "resolved"
    (group,) = await stored_groups(alerts_flare)
    assert (group.firing, group.total, group.resolved_at is not None) == (0, 1, True)
    await fake_slack.wait_for(lambda: len(fake_slack.posted("C0PAYCRIT")) == 1)
    assert block_text(fake_slack.posted("C0PAYCRIT")[0].blocks).startswith("✅")
    assert "resolved after 2m\n" in block_text(fake_slack.posted("C0PAYCRIT")[0].blocks) + "\n"  # not "2m 0s"


async def test_the_secret_may_come_from_dotenv_like_the_other_settings(
    start_alerts: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    monkeypatch.delenv("FLARE_TEST_AM_TOKEN")
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text(f"FLARE_TEST_AM_TOKEN={AM_TOKEN}\n")
    flare = await start_alerts()
    status, _ = await post(flare, am_payload(checkout()))
    assert status == 200
