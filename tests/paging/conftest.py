"""Paging fixtures: the fake PagerDuty, a catalog whose teams page, and Flare aimed at both."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.catalog import Catalog, load_catalog
from bot.paging.models import Page, PageEvent
from tests.alerts.conftest import pd_headers
from tests.conftest import Flare, StartFlare
from tests.fakes.pagerduty import FakePagerDuty, oncall_entry
from tests.fakes.slack import Channel, FakeSlack
from tests.incidents.conftest import FAST_DELIVERY
from tests.incidents.helpers import incident_channel
from tests.support.waits import settle

CATALOG = Path(__file__).parent / "catalog.yaml"
PAYMENTS_KEY = "R0PAYMENTS0000000000000000000001"
DATABASES_KEY = "R0DATABASES000000000000000000002"
API_TOKEN = "pd-api-token-0123456789"
PD_SECRET = "pagerduty-secret-0123456789"
ENV = {
    "FLARE_TEST_PD_PAYMENTS_KEY": PAYMENTS_KEY,
    "FLARE_TEST_PD_DATABASES_KEY": DATABASES_KEY,
    "FLARE_TEST_PD_API_TOKEN": API_TOKEN,
    "FLARE_TEST_PD_SECRET": PD_SECRET,
}


@pytest.fixture
async def fake_pd() -> AsyncIterator[FakePagerDuty]:
    """The fake PagerDuty, knowing both teams' integration keys and the API token."""
    fake = FakePagerDuty()
    fake.add_key(PAYMENTS_KEY)
    fake.add_key(DATABASES_KEY)
    fake.tokens.add(API_TOKEN)
    fake.oncall["PPAY001"] = [oncall_entry("Priya Patel", 1, "Payments primary"), oncall_entry("Sam Lee", 2)]
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
def paging_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The PagerDuty secrets in the environment, as the catalog names them."""
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    return ENV


@pytest.fixture
def paging_catalog() -> Catalog:
    """The paging test catalog."""
    return load_catalog(CATALOG)


StartPaging = Callable[..., Awaitable[Flare]]


@pytest.fixture
def start_paging(
    start_flare: StartFlare,
    make_settings: Callable[..., Any],
    fake_pd: FakePagerDuty,
    paging_env: dict[str, str],
    paging_catalog: Catalog,
) -> StartPaging:
    """Start Flare with the paging catalog, PAGERDUTY_*_URL at the fake; settings may be overridden."""

    async def start(**overrides: Any) -> Flare:
        values = {
            "pagerduty_events_url": fake_pd.url,
            "pagerduty_api_url": fake_pd.url,
            "flare_page_max_backoff_seconds": 0.2,
            "flare_config": CATALOG,
        }
        values.update(overrides)
        return await start_flare(
            make_settings(**values), catalog_=paging_catalog, dispatcher_config=FAST_DELIVERY
        )

    return start


@pytest.fixture
async def paging_flare(start_paging: StartPaging) -> Flare:
    """One running Flare that pages through the fake PagerDuty."""
    return await start_paging()


async def declare(flare: Flare, fake_slack: FakeSlack, text: str, user: str = "U0ALICE01") -> Channel:
    """`/incident declare <text>`, delivered; the incident's channel."""
    reply = await flare.slack.command("/incident", f"declare {text}", user=user)
    assert reply.status == 200
    assert "Declared" in reply.json()["text"], reply.json()
    await settle(flare)
    body = reply.json()["text"]
    number = int(body.split("*INC-", 1)[1].split("*", 1)[0])
    return incident_channel(fake_slack, number)


async def incident_command(flare: Flare, text: str, channel: Channel | str, user: str = "U0ALICE01") -> str:
    """/incident <text> in `channel`; the ephemeral answer's text."""
    channel_id = channel if isinstance(channel, str) else channel.id
    reply = await flare.slack.command("/incident", text, channel=channel_id, user=user)
    assert reply.status == 200
    body = reply.json()
    assert body["response_type"] == "ephemeral"
    return str(body["text"])


async def pages(flare: Flare) -> list[Page]:
    """Every stored page."""
    async with flare.container.db.sessions() as session:
        return list((await session.execute(select(Page).order_by(Page.id))).scalars().all())


async def page_events(flare: Flare) -> list[PageEvent]:
    """Every queued PagerDuty event."""
    async with flare.container.db.sessions() as session:
        return list((await session.execute(select(PageEvent).order_by(PageEvent.id))).scalars().all())


def pd_webhook(
    event_type: str,
    incident_key: str,
    *,
    event_id: str = "01DEN4HPBQAM0MH4WBOOE7Q5VK",
    agent: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A v3 webhook as PagerDuty sends it, about an incident with `incident_key`."""
    return {
        "event": {
            "id": event_id,
            "event_type": event_type,
            "resource_type": "incident",
            "occurred_at": "2026-12-04T10:00:05.169Z",
            "agent": agent
            if agent is not None
            else {
                "html_url": "https://acme.pagerduty.com/users/PLH1HKV",
                "id": "PLH1HKV",
                "self": "https://api.pagerduty.com/users/PLH1HKV",
                "summary": "Tenex Engineer",
                "type": "user_reference",
            },
            "client": None,
            "data": {
                "id": "PGR0VU2",
                "type": "incident",
                "self": "https://api.pagerduty.com/incidents/PGR0VU2",
                "html_url": "https://acme.pagerduty.com/incidents/PGR0VU2",
                "number": 2,
                "status": event_type.split(".", 1)[1],
                "incident_key": incident_key,
                "created_at": "2026-12-04T10:00:00Z",
                "title": "[P0] INC-1 checkout is failing",
                "service": {"id": "PF9KMXH", "summary": "Checkout", "type": "service_reference"},
                "urgency": "high",
            },
        }
    }


async def send_webhook(flare: Flare, payload: dict[str, Any], webhook_id: str) -> tuple[int, Any]:
    """POST a signed v3 webhook to /webhooks/pagerduty."""
    body = json.dumps(payload).encode()
    headers = pd_headers(body, webhook_id=webhook_id, secrets=(PD_SECRET,))
    return await flare.post("/webhooks/pagerduty", data=body, headers=headers)
