"""Fixtures for the console tests: a Flare with the console on (its public URL is its real loopback URL),
people who can sign in through the fake Slack's OIDC endpoints, and a signed-in HTTP client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import aiohttp
import pytest
from aiohttp import web

from bot.catalog import Catalog, parse_catalog
from bot.clock import Clock
from bot.settings import Settings
from bot.slack.dispatcher import DispatcherConfig
from handlers.app import create_app
from tests.conftest import Flare
from tests.fakes.slack import FakeSlack
from tests.fakes.slack_oidc import CLIENT_ID, CLIENT_SECRET, OTHER_TEAM_ID
from tests.support.process import free_port
from tests.support.slack_client import SlackClient

FAST_DELIVERY = DispatcherConfig(per_channel_rate=50.0, burst=10.0, dependency_wait=0.05, poll_interval=0.05)
WORKSPACE = "https://acme-flare.slack.com"
SESSION_SECRET = "console-session-secret-for-the-tests-0123456789"
ALICE, BOB, CAROL, MALLORY = "U0ALICE01", "U0BOB0001", "U0CAROL01", "U0MALLORY"
SRE_GROUP = "S0SREONCALL"

CATALOG = """
channels:
  announcements: C0INCIDENTS
  deployments: C0DEPLOYS
teams:
  payments:
    channel: C0PAYMENTS
    responders: [U0BOB0001, U0CAROL01]
  search:
    channel: C0SEARCH01
    responders: [U0DAVE001]
incidents:
  slack_workspace_url: {workspace}
services:
  - name: checkout
    team: payments
    environments:
      production:
        project: acme-prod
        region: us-central1
        service: checkout
      staging:
        project: acme-staging
        region: us-central1
        service: checkout
  - name: search
    team: search
    environments:
      production:
        project: acme-prod
        region: europe-west1
        service: search-api
{console}
"""


def console_catalog(groups: list[str] | None = None) -> Catalog:
    """The console tests' catalog; `groups` fills console.allowed_user_groups."""
    console = f"console:\n  allowed_user_groups: [{', '.join(groups)}]\n" if groups else ""
    return parse_catalog(CATALOG.format(workspace=WORKSPACE, console=console), "console-catalog.yaml")


StartConsole = Callable[..., Awaitable[Flare]]


@pytest.fixture
async def start_console(
    make_settings: Callable[..., Settings], fake_slack: FakeSlack
) -> AsyncIterator[StartConsole]:
    """Start a Flare with the console on; people Alice, Bob, Carol (this workspace) and Mallory (another)."""
    oidc = fake_slack.oidc
    oidc.add_person(ALICE, "Alice Admin")
    oidc.add_person(BOB, "Bob Oncall")
    oidc.add_person(CAROL, "Carol Comms")
    oidc.add_person(MALLORY, "Mallory Outsider", team_id=OTHER_TEAM_ID)
    fake_slack.usergroups[SRE_GROUP] = [ALICE, BOB]
    runners: list[web.AppRunner] = []
    http = aiohttp.ClientSession()

    async def start(
        *, groups: list[str] | None = None, clock: Clock | None = None, **overrides: Any
    ) -> Flare:
        port = free_port()
        values: dict[str, Any] = {
            "slack_client_id": CLIENT_ID,
            "slack_client_secret": CLIENT_SECRET,
            "flare_public_url": f"http://127.0.0.1:{port}",
            "flare_session_secret": SESSION_SECRET,
        }
        values.update(overrides)
        app = create_app(
            make_settings(**values),
            catalog=console_catalog(groups),
            dispatcher_config=FAST_DELIVERY,
            clock=clock,
        )
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        runners.append(runner)
        url = f"http://127.0.0.1:{port}"
        return Flare(app, runner, url, http, SlackClient(url, http, response_url=fake_slack.response_url))

    yield start
    for runner in runners:
        await runner.cleanup()
    await http.close()


@pytest.fixture
async def console(start_console: StartConsole) -> Flare:
    """A Flare with the console on and no group restriction."""
    return await start_console()


@dataclass
class Browser:
    """An HTTP client with its own cookie jar, as one browser would be."""

    http: aiohttp.ClientSession
    base: str

    async def get(self, path: str, **kwargs: Any) -> tuple[int, str, aiohttp.ClientResponse]:
        """GET without following redirects: (status, body, response)."""
        url = path if path.startswith("http") else self.base + path
        async with self.http.get(url, allow_redirects=False, **kwargs) as response:
            return response.status, await response.text(), response


@pytest.fixture
async def browser_factory() -> AsyncIterator[Callable[[Flare], Browser]]:
    """Make cookie-keeping HTTP clients (IP hosts allowed, as a browser would)."""
    sessions: list[aiohttp.ClientSession] = []

    def make(flare: Flare) -> Browser:
        session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        sessions.append(session)
        return Browser(session, flare.url)

    yield make
    for session in sessions:
        await session.close()


async def sign_in(browser: Browser, user: str, *, next_path: str = "") -> tuple[int, str, str]:
    """Go through /ui/login, the fake's authorize page (choosing `user`) and the callback.

    Returns the callback's (status, body, Location header).
    """
    query = f"?next={next_path}" if next_path else ""
    status, _, response = await browser.get(f"/ui/login{query}")
    assert status == 302, status
    authorize = response.headers["Location"]
    async with browser.http.get(authorize) as page:
        assert page.status == 200, await page.text()
    fields = _query(authorize)
    fields["user"] = user
    async with browser.http.post(authorize.split("?")[0], data=fields, allow_redirects=False) as chosen:
        assert chosen.status == 302, await chosen.text()
        callback = chosen.headers["Location"]
    status, body, response = await browser.get(callback)
    return status, body, response.headers.get("Location", "")


def _query(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query))
