"""Fixtures for the Cloud Run tests: the fake Cloud Run API, fake service endpoints, a catalog with rbac."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.catalog import Catalog, parse_catalog
from bot.clock import Clock
from bot.cloudrun.run_v2_gateway import RunV2Gateway
from bot.settings import Settings
from bot.slack.dispatcher import DispatcherConfig
from tests.conftest import Flare, StartFlare
from tests.fakes.cloudrun import FakeCloudRun, FakeEndpoints, FakeService

FAST_DELIVERY = DispatcherConfig(per_channel_rate=50.0, burst=10.0, dependency_wait=0.05, poll_interval=0.05)
BOB = "U0BOB0001"  # allowed in production by user id
CAROL = "U0CAROL01"  # allowed in production through the on-call user group
# Short so interrupted work is found quickly, with room for a loaded 2-core CI machine.
LEASE_SECONDS = 2.0
ALICE = "U0ALICE01"  # not allowed in production
ONCALL = "S0PAYONCALL"

CATALOG = """
channels:
  announcements: C0INCIDENTS
  deployments: C0DEPLOYS
teams:
  payments:
    channel: C0PAYMENTS
    responders: [U0BOB0001, U0CAROL01]
    user_group: S0PAYONCALL
  search:
    channel: C0SEARCH01
    responders: [U0DAVE001]
rbac:
  production:
    users: [U0BOB0001]
    user_groups: [S0PAYONCALL]
  staging:
    open: true
rollback:
  settle_seconds: 0
  operation_timeout_seconds: 10
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
          dependencies:
            - name: payments-api
              type: http
              url: {dep_url}
              timeout_seconds: 2
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
"""


@pytest.fixture
async def fake_cloudrun() -> AsyncIterator[FakeCloudRun]:
    """The fake Cloud Run Admin API with checkout (production, staging) and search."""
    fake = await FakeCloudRun().start()
    start = datetime.now(UTC) - timedelta(days=2)
    checkout = fake.add_service("acme-prod", "us-central1", "checkout", revisions=4, start=start)
    checkout.revisions[-1].annotations["flare.dev/deployer"] = "alice@acme.test"
    fake.add_service("acme-staging", "us-central1", "checkout", revisions=2, start=start)
    fake.add_service("acme-prod", "europe-west1", "search-api", revisions=2, start=start)
    # One poll answers "not done": every change exercises GET operations.
    fake.operation_polls = 1
    yield fake
    await fake.stop()


@pytest.fixture
async def endpoints() -> AsyncIterator[FakeEndpoints]:
    """checkout's health URL (healthy) and its payments-api dependency (200)."""
    fake = await FakeEndpoints().start()
    fake.health("checkout/health", "healthy", {"db": "healthy", "cache": "healthy"})
    fake.set("payments/ping", 200, {"ok": True})
    yield fake
    await fake.stop()


@pytest.fixture
def catalog_text(endpoints: FakeEndpoints) -> str:
    """The Cloud Run test catalog, pointing health checks at the fake endpoints."""
    return CATALOG.format(health_url=endpoints.url("checkout/health"), dep_url=endpoints.url("payments/ping"))


@pytest.fixture
def catalog_path(tmp_path: Path, catalog_text: str) -> Path:
    """The catalog written to a file (runbooks may sit next to it)."""
    path = tmp_path / "flare.yaml"
    path.write_text(catalog_text)
    return path


@pytest.fixture
def cr_catalog(catalog_text: str) -> Catalog:
    """The parsed Cloud Run test catalog."""
    return parse_catalog(catalog_text, "flare.yaml")


def gateway(fake: FakeCloudRun, **kwargs: Any) -> RunV2Gateway:
    """The real gateway aimed at the fake, with quick retries and polling."""
    options: dict[str, Any] = {"read_retry_seconds": 0.3, "poll_initial": 0.02, "poll_maximum": 0.1}
    options.update(kwargs)
    return RunV2Gateway(fake.url, **options)


StartCR = Callable[..., Any]


@pytest.fixture
def start_cr(
    start_flare: StartFlare,
    make_settings: Callable[..., Settings],
    fake_cloudrun: FakeCloudRun,
    cr_catalog: Catalog,
    catalog_path: Path,
) -> StartCR:
    """Start a Flare aimed at the fake Cloud Run, with the rbac catalog and a 1 s work lease."""

    async def start(
        catalog: Catalog | None = None,
        gw: RunV2Gateway | None = None,
        clock: Clock | None = None,
        **overrides: Any,
    ) -> Flare:
        values: dict[str, Any] = {
            "cloud_run_api_endpoint": fake_cloudrun.url,
            "flare_config": catalog_path,
            "flare_outbox_lease_seconds": LEASE_SECONDS,
        }
        values.update(overrides)
        extra: dict[str, Any] = {"clock": clock} if clock is not None else {}
        return await start_flare(
            make_settings(**values),
            catalog_=catalog or cr_catalog,
            cloudrun=gw or gateway(fake_cloudrun),
            dispatcher_config=FAST_DELIVERY,
            **extra,
        )

    return start


@pytest.fixture
async def cr(start_cr: StartCR) -> Flare:
    """One Flare aimed at the fake Cloud Run."""
    flare: Flare = await start_cr()
    return flare


@pytest.fixture
def checkout(fake_cloudrun: FakeCloudRun) -> FakeService:
    """checkout in production on the fake."""
    return fake_cloudrun.service("acme-prod", "us-central1", "checkout")
