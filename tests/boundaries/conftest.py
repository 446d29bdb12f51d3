"""A Flare with every endpoint enabled: alert webhooks, the deploy webhook, API, tick and Slack."""

from __future__ import annotations

import time

import pytest

from bot.catalog import Catalog, parse_catalog
from tests.alerts.conftest import ENV, alert_catalog_text
from tests.conftest import Flare, StartFlare

DEPLOY_TOKEN = "deploy-token-boundaries-2718"
DEPLOYS = """
deploys:
  token_env: FLARE_TEST_DEPLOY_TOKEN
"""
ALL_ENV = {**ENV, "FLARE_TEST_DEPLOY_TOKEN": DEPLOY_TOKEN}


@pytest.fixture
def full_catalog() -> Catalog:
    """The alert test catalog plus the deploy webhook."""
    return parse_catalog(alert_catalog_text(extra=DEPLOYS), "boundaries.yaml")


@pytest.fixture
def all_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Every secret the catalog names, in the environment."""
    for name, value in ALL_ENV.items():
        monkeypatch.setenv(name, value)
    return ALL_ENV


@pytest.fixture
async def full_flare(start_flare: StartFlare, full_catalog: Catalog, all_env: dict[str, str]) -> Flare:
    """A running Flare with every endpoint enabled."""
    return await start_flare(catalog_=full_catalog)


def webhook_request(source: str, body: bytes) -> tuple[str, dict[str, str]]:
    """URL and valid credentials (signed over `body` where the source signs) for one alert source."""
    from tests.alerts import conftest as a

    if source == "alertmanager":
        return "/webhooks/alertmanager", a.bearer(a.AM_TOKEN)
    if source == "grafana":
        ts = str(int(time.time()))
        signature = a.hex_hmac(a.GRAFANA_SECRET, ts.encode() + b":" + body)
        headers = {**a.bearer(a.GRAFANA_TOKEN), "X-Grafana-Alerting-Timestamp": ts}
        return "/webhooks/grafana", {**headers, "X-Grafana-Alerting-Signature": signature}
    if source == "gcp_monitoring":
        return "/webhooks/gcp-monitoring", a.basic(a.GCP_USER, a.GCP_PASSWORD)
    if source == "sentry":
        return "/webhooks/sentry", a.sentry_headers(body, "issue")
    if source == "pagerduty":
        return "/webhooks/pagerduty", a.pd_headers(body, webhook_id=a.hex_hmac("id", body))
    if source == "deploy":
        return "/webhooks/deploy", {"Authorization": f"Bearer {DEPLOY_TOKEN}"}
    return "/webhooks/generic", a.bearer(a.GENERIC_TOKEN)


ALERT_SOURCES = ("alertmanager", "grafana", "gcp_monitoring", "sentry", "pagerduty", "generic")
