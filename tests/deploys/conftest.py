"""Fixtures for the deploy tests: the fake Cloud Run API, a catalog with the deploy webhook and a watched
service, and a Flare aimed at both (with a clock the watcher tests move forward)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.catalog import Catalog, parse_catalog
from bot.cloudrun.run_v2_gateway import RunV2Gateway
from bot.settings import Settings
from bot.slack.dispatcher import DispatcherConfig
from tests.conftest import Flare, StartFlare
from tests.fakes.cloudrun import FakeCloudRun, FakeService
from tests.support.clock import ManualClock

FAST_DELIVERY = DispatcherConfig(per_channel_rate=50.0, burst=10.0, dependency_wait=0.05, poll_interval=0.05)
TOKEN_ENV = "FLARE_TEST_DEPLOY_TOKEN"
TOKEN = "deploy-token-3141"
BOB = "U0BOB0001"  # allowed to change production
ALICE = "U0ALICE01"  # not allowed to change production
DEPLOYS = "C0DEPLOYS"
PAYMENTS = "C0PAYMENTS"

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
rbac:
  production:
    users: [U0BOB0001]
  staging:
    open: true
rollback:
  settle_seconds: 0
  operation_timeout_seconds: 10
deploys:
  token_env: FLARE_TEST_DEPLOY_TOKEN
  watch_interval_seconds: 5
services:
  - name: checkout
    team: payments
    environments:
      production: {project: acme-prod, region: us-central1, service: checkout, watch: true}
      staging: {project: acme-staging, region: us-central1, service: checkout}
  - name: search
    team: search
    environments:
      production: {project: acme-prod, region: europe-west1, service: search-api}
"""


@pytest.fixture
def deploy_catalog() -> Catalog:
    """The deploy test catalog."""
    return parse_catalog(CATALOG, "flare.yaml")


@pytest.fixture
async def fake_cloudrun() -> AsyncIterator[FakeCloudRun]:
    """The fake Cloud Run Admin API with checkout (production, staging) and search."""
    fake = await FakeCloudRun().start()
    start = datetime.now(UTC) - timedelta(days=2)
    fake.add_service("acme-prod", "us-central1", "checkout", revisions=3, start=start)
    fake.add_service("acme-staging", "us-central1", "checkout", revisions=2, start=start)
    fake.add_service("acme-prod", "europe-west1", "search-api", revisions=2, start=start)
    fake.operation_polls = 0
    yield fake
    await fake.stop()


@pytest.fixture
def checkout(fake_cloudrun: FakeCloudRun) -> FakeService:
    """checkout in production on the fake."""
    return fake_cloudrun.service("acme-prod", "us-central1", "checkout")


@pytest.fixture
def clock() -> ManualClock:
    """A clock the watcher tests move forward (polls are due every 5 s)."""
    return ManualClock()


StartDeploys = Callable[..., Any]


@pytest.fixture
def start_deploys(
    start_flare: StartFlare,
    make_settings: Callable[..., Settings],
    fake_cloudrun: FakeCloudRun,
    deploy_catalog: Catalog,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> StartDeploys:
    """Start a Flare with the deploy webhook token set, aimed at the fake Cloud Run."""
    monkeypatch.setenv(TOKEN_ENV, TOKEN)

    async def start(catalog: Catalog | None = None, **overrides: Any) -> Flare:
        values: dict[str, Any] = {
            "cloud_run_api_endpoint": fake_cloudrun.url,
            "flare_outbox_lease_seconds": 1.0,
        }
        values.update(overrides)
        gateway = RunV2Gateway(fake_cloudrun.url, read_retry_seconds=0.3, poll_initial=0.02, poll_maximum=0.1)
        return await start_flare(
            make_settings(**values),
            catalog_=catalog or deploy_catalog,
            cloudrun=gateway,
            dispatcher_config=FAST_DELIVERY,
            clock=clock,
        )

    return start


@pytest.fixture
async def flare(start_deploys: StartDeploys) -> Flare:
    """One Flare with deploys enabled."""
    started: Flare = await start_deploys()
    return started
