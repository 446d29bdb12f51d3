"""A page is never lost nor silent: retries, refusals, lateness; PagerDuty never slows a declaration."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import METRICS_TOKEN, Flare
from tests.fakes.pagerduty import FakePagerDuty
from tests.fakes.slack import FakeSlack
from tests.incidents.helpers import card, notices
from tests.paging.conftest import StartPaging, declare, incident_command, page_events, pages
from tests.support.messages import text_of
from tests.support.records import timeline
from tests.support.waits import eventually, settle

REFUSED = "PagerDuty refused the page: invalid routing key. Call the on-call directly."


async def metric(flare: Flare, line_start: str) -> float:
    status, text = await flare.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert status == 200
    values = [float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(line_start)]
    return sum(values)


async def deep(flare: Flare) -> dict[str, Any]:
    _status, body = await flare.get("/health/deep")
    paging: dict[str, Any] = body["services"]["paging"]
    return paging


async def test_an_invalid_routing_key_is_told_to_the_channel_the_declarer_health_and_metrics(
    paging_flare: Flare, fake_slack: FakeSlack, fake_pd: FakePagerDuty
) -> None:
    fake_pd.keys.clear()  # PagerDuty no longer knows the key: 400 "Invalid routing key"
    channel = await declare(paging_flare, fake_slack, "P0 checkout is failing --service checkout")
    await fake_slack.wait_for(lambda: any(REFUSED in n for n in notices(fake_slack, channel)))
    await settle(paging_flare)
    assert len(fake_pd.attempts) == 1  # 400 is permanent: no retries
    await fake_slack.wait_for(lambda: any(REFUSED in e["text"] for e in fake_slack.ephemerals))
    (private,) = [e for e in fake_slack.ephemerals if REFUSED in e["text"]]
    assert (private["user"], private["channel"]) == ("U0ALICE01", channel.id)
    assert "FAILED" in text_of(card(fake_slack, channel))
    assert "invalid routing key" in text_of(card(fake_slack, channel))
    (failed,) = await timeline(paging_flare, 1, "page_failed")
    assert "invalid routing key" in failed.text
    (page,) = await pages(paging_flare)
    assert (page.state, page.last_error) == ("failed", "PagerDuty refused the page: invalid routing key.")
    health = await deep(paging_flare)
    assert health["status"] == "degraded"
    assert "invalid routing key" in health["detail"]
    assert await metric(paging_flare, 'pages_undelivered_total{reason="failed"}') == 1.0
    # Flare's own ack is not sent for a page PagerDuty never took.
    await incident_command(paging_flare, "ack", channel)
    await settle(paging_flare)
    assert len(fake_pd.attempts) == 1


async def test_an_unset_routing_key_variable_fails_loudly_and_the_declaration_still_succeeds(
    paging_flare: Flare, fake_slack: FakeSlack, fake_pd: FakePagerDuty, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FLARE_TEST_PD_PAYMENTS_KEY")
    channel = await declare(paging_flare, fake_slack, "P0 checkout is failing --service checkout")
    expected = "Flare could not send the page: FLARE_TEST_PD_PAYMENTS_KEY is not set on the Flare server."
    await fake_slack.wait_for(lambda: any(expected in n for n in notices(fake_slack, channel)))
    assert fake_pd.attempts == []


async def test_429_with_retry_after_and_500_are_retried_until_accepted_once(
    paging_flare: Flare, fake_slack: FakeSlack, fake_pd: FakePagerDuty
) -> None:
    fake_pd.fail(429, retry_after=0)
    fake_pd.fail(500, times=2)
    channel = await declare(paging_flare, fake_slack, "P0 checkout is failing --service checkout")
    await fake_pd.wait_for(lambda: len(fake_pd.triggers()) == 1, timeout=15)
    assert len(fake_pd.attempts) == 4
    await fake_slack.wait_for(
        lambda: any("Paged payments on-call via PagerDuty at" in n for n in notices(fake_slack, channel))
    )
    (event,) = await page_events(paging_flare)
    assert (event.status, event.attempts) == ("sent", 4)
    assert await metric(paging_flare, 'pagerduty_events_total{action="trigger",result="retry"}') == 3.0


async def test_connection_errors_are_retried(
    paging_flare: Flare, fake_slack: FakeSlack, fake_pd: FakePagerDuty
) -> None:
    port = fake_pd.port
    await fake_pd.stop()
    await declare(paging_flare, fake_slack, "P0 checkout is failing --service checkout")

    async def refused_once() -> bool:
        return any(e.attempts >= 1 for e in await page_events(paging_flare))

    await eventually(refused_once)
    await fake_pd.start(port)
    await fake_pd.wait_for(lambda: len(fake_pd.triggers()) == 1, timeout=15)

    async def sent() -> bool:
        return [e.status for e in await page_events(paging_flare)] == ["sent"]

    await eventually(sent)
    (event,) = await page_events(paging_flare)
    assert event.attempts >= 2


async def test_a_page_not_accepted_in_time_is_shown_then_delivered_when_pagerduty_recovers(
    start_paging: StartPaging, fake_slack: FakeSlack, fake_pd: FakePagerDuty
) -> None:
    flare = await start_paging(flare_page_alert_after_seconds=1.0)
    fake_pd.down_status = 500
    channel = await declare(flare, fake_slack, "P0 checkout is failing --service checkout")
    late = "Page to payments on-call failed."
    await fake_slack.wait_for(lambda: any(late in n for n in notices(fake_slack, channel)), timeout=15)
    notice = next(n for n in notices(fake_slack, channel) if late in n)
    assert "has not accepted the page after 1 s" in notice
    assert "HTTP 500" in notice
    assert "Call the on-call directly." in notice
    await fake_slack.wait_for(lambda: any(late in e["text"] for e in fake_slack.ephemerals))
    await settle(flare)
    assert "NOT delivered yet" in text_of(card(fake_slack, channel))
    assert (await deep(flare))["status"] == "degraded"
    assert await metric(flare, 'pages_undelivered_total{reason="late"}') == 1.0
    fake_pd.down_status = None
    await fake_pd.wait_for(lambda: len(fake_pd.triggers()) == 1, timeout=15)
    await fake_slack.wait_for(
        lambda: any("Paged payments on-call" in n for n in notices(fake_slack, channel))
    )
    await settle(flare)
    assert "Paged payments on-call via PagerDuty at" in text_of(card(fake_slack, channel))
    assert (await deep(flare))["status"] == "healthy"
    # Told once, however long the outage lasted.
    assert len([n for n in notices(fake_slack, channel) if late in n]) == 1
    assert len(await timeline(flare, 1, "page_late")) == 1


async def test_a_hanging_pagerduty_does_not_hold_up_the_declaration(
    paging_flare: Flare, fake_slack: FakeSlack, fake_pd: FakePagerDuty
) -> None:
    fake_pd.hang = True
    reply = await paging_flare.slack.command(
        "/incident", "declare P0 checkout is failing --service checkout", user="U0ALICE01"
    )
    assert reply.status == 200
    assert "Declared *INC-1*" in reply.json()["text"]
    await fake_pd.wait_for(lambda: len(fake_pd.attempts) == 1)
    # The declaration was answered and its channel opened while PagerDuty still holds the request.
    await settle(paging_flare)
    assert fake_slack.ok_calls("conversations.create")
    assert fake_pd.events == []
    (page,) = await pages(paging_flare)
    assert page.state == "pending"


async def test_an_incident_resolved_before_pagerduty_took_the_page_rings_no_phone(
    paging_flare: Flare, fake_slack: FakeSlack, fake_pd: FakePagerDuty
) -> None:
    fake_pd.down_status = 503
    channel = await declare(paging_flare, fake_slack, "P0 checkout is failing --service checkout")
    await fake_pd.wait_for(lambda: len(fake_pd.attempts) >= 1)
    await incident_command(paging_flare, "resolve false alarm", channel)
    fake_pd.down_status = None

    async def cancelled() -> bool:
        return [p.state for p in await pages(paging_flare)] == ["cancelled"]

    await eventually(cancelled, timeout=15)
    await settle(paging_flare)
    assert fake_pd.events == []
    assert [e.status for e in await page_events(paging_flare)] == ["skipped", "skipped"]
    assert "not sent: the incident was resolved" in text_of(card(fake_slack, channel))
    assert len(await timeline(paging_flare, 1, "page_cancelled")) == 1
    assert (await deep(paging_flare))["status"] == "healthy"
