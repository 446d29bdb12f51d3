"""PagerDuty's v3 webhooks about Flare's pages reach the incident, once, without echo loops."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.alerts.models import AlertRecord
from tests.conftest import Flare
from tests.fakes.pagerduty import FakePagerDuty
from tests.fakes.slack import FakeSlack
from tests.incidents.helpers import incident, notices
from tests.paging.conftest import declare, incident_command, pd_webhook, send_webhook
from tests.support.records import timeline
from tests.support.waits import settle

SERVICE_AGENT = {"id": "PF9KMXH", "summary": "Checkout", "type": "service_reference"}


async def alerts_stored(flare: Flare) -> int:
    async with flare.container.db.sessions() as session:
        return int((await session.execute(select(func.count()).select_from(AlertRecord))).scalar_one())


async def test_an_acknowledgement_in_pagerduty_is_on_the_timeline_once_and_acknowledges_the_incident(
    paging_flare: Flare, fake_slack: FakeSlack, fake_pd: FakePagerDuty
) -> None:
    channel = await declare(paging_flare, fake_slack, "P0 checkout is failing --service checkout")
    await fake_pd.wait_for(lambda: len(fake_pd.triggers()) == 1)
    payload = pd_webhook("incident.acknowledged", "flare-INC-1")
    status, body = await send_webhook(paging_flare, payload, "wh-1")
    assert (status, body["status"], body["incident"]) == (200, "ok", "INC-1")
    again = await send_webhook(paging_flare, payload, "wh-1")  # PagerDuty redelivers
    assert (again[0], again[1]["status"]) == (200, "duplicate")
    await settle(paging_flare)
    (event,) = await timeline(paging_flare, 1, "pagerduty")
    assert event.text == "acknowledged in PagerDuty by Tenex Engineer"
    stored = await incident(paging_flare)
    assert (stored.status, stored.acknowledged_by) == ("acknowledged", "PagerDuty")
    assert any("acknowledged in PagerDuty by Tenex Engineer" in n for n in notices(fake_slack, channel))
    # PagerDuty already knows: Flare does not send the acknowledgement back.
    await settle(paging_flare)
    assert fake_pd.actions("flare-INC-1") == ["trigger"]
    # Resolving in Flare still resolves in PagerDuty.
    await incident_command(paging_flare, "resolve fixed", channel)
    await fake_pd.wait_for(lambda: fake_pd.actions("flare-INC-1") == ["trigger", "resolve"])


async def test_echoes_of_flares_own_events_are_not_recorded_again_nor_become_alerts(
    paging_flare: Flare, fake_slack: FakeSlack, fake_pd: FakePagerDuty
) -> None:
    channel = await declare(paging_flare, fake_slack, "P0 checkout is failing --service checkout")
    await fake_pd.wait_for(lambda: len(fake_pd.triggers()) == 1)
    # PagerDuty tells every webhook subscriber about the incident Flare's trigger created.
    status, body = await send_webhook(
        paging_flare, pd_webhook("incident.triggered", "flare-INC-1", event_id="E1", agent=SERVICE_AGENT), "a"
    )
    assert (status, body["status"]) == (200, "ignored")
    assert await alerts_stored(paging_flare) == 0
    await incident_command(paging_flare, "ack", channel, user="U0BOB0001")
    await fake_pd.wait_for(lambda: fake_pd.actions("flare-INC-1") == ["trigger", "acknowledge"])
    echo = pd_webhook("incident.acknowledged", "flare-INC-1", event_id="E2", agent=SERVICE_AGENT)
    status, body = await send_webhook(paging_flare, echo, "b")
    assert (status, body["status"]) == (200, "ignored")
    assert "echo" in body["reason"]
    await settle(paging_flare)
    assert await timeline(paging_flare, 1, "pagerduty") == []
    assert [e.data["to"] for e in await timeline(paging_flare, 1, "status_changed")] == ["acknowledged"]
    assert fake_pd.actions("flare-INC-1") == ["trigger", "acknowledge"]


async def test_a_resolution_in_pagerduty_is_noted_but_the_incident_stays_open(
    paging_flare: Flare, fake_slack: FakeSlack, fake_pd: FakePagerDuty
) -> None:
    channel = await declare(paging_flare, fake_slack, "P0 checkout is failing --service checkout")
    await fake_pd.wait_for(lambda: len(fake_pd.triggers()) == 1)
    status, body = await send_webhook(paging_flare, pd_webhook("incident.resolved", "flare-INC-1"), "r")
    assert (status, body["recorded"]) == (200, "resolved in PagerDuty by Tenex Engineer")
    await settle(paging_flare)
    assert (await incident(paging_flare)).status == "declared"
    assert any("resolved in PagerDuty by Tenex Engineer" in n for n in notices(fake_slack, channel))


async def test_webhooks_about_other_pagerduty_incidents_still_become_alerts(
    paging_flare: Flare, fake_pd: FakePagerDuty
) -> None:
    other = pd_webhook("incident.triggered", "d3640fbd41094207a1c11e58e46b1662")
    status, body = await send_webhook(paging_flare, other, "x")
    assert (status, body["status"]) == (200, "ok")
    assert await alerts_stored(paging_flare) == 1
    unknown = pd_webhook("incident.acknowledged", "flare-INC-77")
    status, body = await send_webhook(paging_flare, unknown, "y")
    assert (status, body["status"]) == (200, "ignored")


async def test_an_unsigned_webhook_is_refused_before_anything_is_read(paging_flare: Flare) -> None:
    status, body = await paging_flare.post(
        "/webhooks/pagerduty",
        json=pd_webhook("incident.acknowledged", "flare-INC-1"),
        headers={"X-PagerDuty-Signature": "v1=" + "0" * 64},
    )
    assert status == 401
    assert "X-PagerDuty-Signature" in body["reason"]
