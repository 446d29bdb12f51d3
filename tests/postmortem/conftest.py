"""Fixtures for the post-mortem tests: a catalog with alert routes, rbac and health checks; fake Cloud Run."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.catalog import Catalog, parse_catalog
from bot.cloudrun.run_v2_gateway import RunV2Gateway
from bot.slack.dispatcher import DispatcherConfig
from tests.conftest import Flare, StartFlare
from tests.fakes.cloudrun import FakeCloudRun, FakeEndpoints

FAST_DELIVERY = DispatcherConfig(per_channel_rate=50.0, burst=10.0, dependency_wait=0.05, poll_interval=0.05)
AM_TOKEN = "am-token-postmortem-0123"
DEPLOY_TOKEN = "deploy-token-postmortem-4567"
WORKSPACE = "https://flare-test.slack.com"

CATALOG = """
channels:
  announcements: C0INCIDENTS
  deployments: C0DEPLOYS
teams:
  payments:
    channel: C0PAYMENTS
    responders: [U0BOB0001, U0CAROL01]
incidents:
  postmortem_on_resolve: {on_resolve}
  slack_workspace_url: {workspace}
rbac:
  production:
    users: [U0BOB0001]
rollback:
  settle_seconds: 0
  operation_timeout_seconds: 10
routes:
  update_interval_seconds: 0.2
  rules:
    - name: checkout
      matchers: ['service="checkout"']
      channels: [C0PAYCRIT]
      severity: {{critical: P1}}
webhooks:
  alertmanager:
    token_env: FLARE_TEST_PM_AM_TOKEN
deploys:
  token_env: FLARE_TEST_PM_DEPLOY_TOKEN
services:
  - name: checkout
    team: payments
    environments:
      production:
        project: acme-prod
        region: us-central1
        service: checkout
        health:
          url: {health_url}
          timeout_seconds: 2
"""


def catalog_text(health_url: str, *, on_resolve: bool = False, workspace: str = WORKSPACE) -> str:
    """The post-mortem test catalog."""
    return CATALOG.format(on_resolve=str(on_resolve).lower(), workspace=workspace, health_url=health_url)


@pytest.fixture
async def fake_cloudrun() -> AsyncIterator[FakeCloudRun]:
    """The fake Cloud Run Admin API with checkout in production (4 revisions)."""
    fake = await FakeCloudRun().start()
    fake.add_service(
        "acme-prod", "us-central1", "checkout", revisions=4, start=datetime.now(UTC) - timedelta(days=2)
    )
    yield fake
    await fake.stop()


@pytest.fixture
async def endpoints() -> AsyncIterator[FakeEndpoints]:
    """checkout's health URL, healthy."""
    fake = await FakeEndpoints().start()
    fake.health("checkout/health", "healthy", {"db": "healthy"})
    yield fake
    await fake.stop()


StartPM = Callable[..., Awaitable[Flare]]


@pytest.fixture
def start_pm(
    start_flare: StartFlare,
    make_settings: Callable[..., Any],
    fake_cloudrun: FakeCloudRun,
    endpoints: FakeEndpoints,
    monkeypatch: pytest.MonkeyPatch,
) -> StartPM:
    """Start a Flare with the post-mortem catalog (on_resolve/workspace overridable), fake Cloud Run."""
    monkeypatch.setenv("FLARE_TEST_PM_AM_TOKEN", AM_TOKEN)
    monkeypatch.setenv("FLARE_TEST_PM_DEPLOY_TOKEN", DEPLOY_TOKEN)

    async def start(*, on_resolve: bool = False, workspace: str = WORKSPACE) -> Flare:
        text = catalog_text(endpoints.url("checkout/health"), on_resolve=on_resolve, workspace=workspace)
        catalog: Catalog = parse_catalog(text, "postmortem-catalog.yaml")
        gateway = RunV2Gateway(fake_cloudrun.url, read_retry_seconds=0.3, poll_initial=0.02, poll_maximum=0.1)
        return await start_flare(
            make_settings(cloud_run_api_endpoint=fake_cloudrun.url),
            catalog_=catalog,
            cloudrun=gateway,
            dispatcher_config=FAST_DELIVERY,
        )

    return start


@pytest.fixture
async def pm(start_pm: StartPM) -> Flare:
    """One Flare with the post-mortem catalog."""
    return await start_pm()
