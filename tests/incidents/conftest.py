"""Fixtures for the incident tests."""

from __future__ import annotations

from typing import Any

import pytest

from bot.settings import Settings
from bot.slack.dispatcher import DispatcherConfig
from tests.conftest import Flare, StartFlare
from tests.fakes.slack import Channel, FakeSlack
from tests.incidents.helpers import incident_channel
from tests.support.waits import settle

# Slack's pacing (1 post/s per channel) is the foundation's to test; here it would only add waiting.
FAST_DELIVERY = DispatcherConfig(per_channel_rate=50.0, burst=10.0, dependency_wait=0.05, poll_interval=0.05)


@pytest.fixture
def start_flare(start_flare: StartFlare) -> StartFlare:
    """The shared start_flare, with quicker outbox pacing unless a test passes its own."""

    async def start(settings: Settings | None = None, **kwargs: Any) -> Flare:
        kwargs.setdefault("dispatcher_config", FAST_DELIVERY)
        return await start_flare(settings, **kwargs)

    return start


@pytest.fixture
async def declared(flare: Flare, fake_slack: FakeSlack) -> Channel:
    """INC-1 (P1, checkout) declared by U0ALICE01, delivered; its Slack channel."""
    reply = await flare.slack.command(
        "/incident", "declare P1 checkout is failing --service checkout", user="U0ALICE01"
    )
    assert "INC-1" in reply.json()["text"]
    await settle(flare)
    return incident_channel(fake_slack, 1)
