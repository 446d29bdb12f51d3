"""Fixtures for the operations tests: a Flare connected to the fake Slack over Socket Mode."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import pytest
from pydantic import SecretStr

from bot.settings import Settings
from bot.slack.dispatcher import DispatcherConfig
from handlers import socket_mode
from tests.conftest import Flare, StartFlare
from tests.fakes.slack import APP_TOKEN, FakeSlack

FAST_DELIVERY = DispatcherConfig(per_channel_rate=50.0, burst=10.0, dependency_wait=0.05, poll_interval=0.05)


@dataclass
class SocketFlare:
    """A running Flare whose Bolt app also listens on a Socket Mode connection to the fake Slack."""

    flare: Flare
    handler: socket_mode.FlareSocketModeHandler


@pytest.fixture
async def socket_flare(
    start_flare: StartFlare, make_settings: Callable[..., Settings], fake_slack: FakeSlack
) -> AsyncIterator[SocketFlare]:
    """Flare started as `flare serve --socket-mode` starts it, connected to the fake's websocket."""
    flare = await start_flare(make_settings(slack_app_token=APP_TOKEN), dispatcher_config=FAST_DELIVERY)
    handler = await socket_mode.start(flare.app, SecretStr(APP_TOKEN))
    await fake_slack.wait_for_socket()
    yield SocketFlare(flare, handler)
    await socket_mode.stop(handler)
