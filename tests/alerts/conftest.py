"""Alert intake fixtures: a catalog with routes and webhook credentials, and senders for each source."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from bot.catalog import Catalog, parse_catalog
from tests.conftest import DATA, Flare, StartFlare

AM_TOKEN = "am-token-0123456789"
GRAFANA_TOKEN = "grafana-token-0123456789"
GRAFANA_SECRET = "grafana-hmac-secret-0123"
GCP_USER = "gcp"
GCP_PASSWORD = "gcp-password-0123456789"
GCP_TOKEN = "gcp-query-token-0123456789"
SENTRY_SECRET = "sentry-client-secret-0123"
PD_SECRET = "pagerduty-secret-0123456789"
GENERIC_TOKEN = "generic-token-0123456789"

ENV = {
    "FLARE_TEST_AM_TOKEN": AM_TOKEN,
    "FLARE_TEST_GRAFANA_TOKEN": GRAFANA_TOKEN,
    "FLARE_TEST_GRAFANA_SECRET": GRAFANA_SECRET,
    "FLARE_TEST_GCP_PASSWORD": GCP_PASSWORD,
    "FLARE_TEST_GCP_TOKEN": GCP_TOKEN,
    "FLARE_TEST_SENTRY_SECRET": SENTRY_SECRET,
    "FLARE_TEST_PD_SECRET": PD_SECRET,
    "FLARE_TEST_GENERIC_TOKEN": GENERIC_TOKEN,
}

ROUTES = """
routes:
  update_interval_seconds: {interval}
  max_alerts_shown: 5
  rules:
    - name: checkout-critical
      matchers: ['service="checkout"', 'severity=~"critical|page"']
      channels: [C0PAYCRIT]
      mention: S0PAYONCALL
      severity: {{critical: P1, page: P0}}
      auto_declare: [P0]
      continue: true
    - name: search
      matchers: ['service="search"']
      severity: {{warning: P2}}
      group_by: [alertname]
    - name: noisy
      matchers: ['team="noise"', 'env!="staging"']
      channels: [C0NOISE01, C0NOISE02]
  default:
    channels: [C0ALERTS1]
webhooks:
  alertmanager:
    token_env: FLARE_TEST_AM_TOKEN
  grafana:
    token_env: FLARE_TEST_GRAFANA_TOKEN
    secret_env: FLARE_TEST_GRAFANA_SECRET
  gcp_monitoring:
    username: gcp
    password_env: FLARE_TEST_GCP_PASSWORD
    token_env: FLARE_TEST_GCP_TOKEN
  sentry:
    secret_env: FLARE_TEST_SENTRY_SECRET
    max_body_bytes: 65536
  pagerduty:
    secret_env: FLARE_TEST_PD_SECRET
  generic:
    token_env: FLARE_TEST_GENERIC_TOKEN
"""


def alert_catalog_text(interval: float = 1.0, extra: str = "") -> str:
    """The standard test catalog plus alert routes and webhook credentials."""
    return (DATA / "catalog.yaml").read_text() + ROUTES.format(interval=interval) + extra


@pytest.fixture
def alert_catalog() -> Catalog:
    """The alert test catalog (1 s update window)."""
    return parse_catalog(alert_catalog_text(), "alerts-catalog.yaml")


@pytest.fixture
def webhook_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The webhook secrets, in the environment as the catalog names them."""
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    return ENV


StartAlerts = Callable[..., Awaitable[Flare]]


@pytest.fixture
def start_alerts(start_flare: StartFlare, webhook_env: dict[str, str], alert_catalog: Catalog) -> StartAlerts:
    """Start Flare with the alert catalog (or another catalog)."""

    async def start(catalog: Catalog | None = None, **kwargs: Any) -> Flare:
        return await start_flare(catalog_=catalog or alert_catalog, **kwargs)

    return start


@pytest.fixture
async def alerts_flare(start_alerts: StartAlerts) -> Flare:
    """One running Flare with alert routes and webhooks configured."""
    return await start_alerts()


# ---------------------------------------------------------------- payload builders


def am_alert(
    name: str = "HighLatency",
    *,
    status: str = "firing",
    fingerprint: str | None = None,
    starts: str = "2026-01-05T10:00:00Z",
    ends: str = "0001-01-01T00:00:00Z",
    summary: str = "p99 latency above 2s",
    **labels: str,
) -> dict[str, Any]:
    """One Alertmanager alert."""
    all_labels = {"alertname": name, **labels}
    return {
        "status": status,
        "labels": all_labels,
        "annotations": {"summary": summary},
        "startsAt": starts,
        "endsAt": ends if status == "firing" else (ends if not ends.startswith("0001") else starts),
        "generatorURL": "http://prometheus.example/graph?g0.expr=up",
        "fingerprint": fingerprint
        or hashlib.sha256(json.dumps(all_labels, sort_keys=True).encode()).hexdigest()[:16],
    }


def am_payload(*alerts: dict[str, Any], group_key: str = '{}:{alertname="HighLatency"}') -> dict[str, Any]:
    """An Alertmanager webhook v4 body."""
    firing = any(a["status"] == "firing" for a in alerts)
    return {
        "receiver": "flare",
        "status": "firing" if firing else "resolved",
        "alerts": list(alerts),
        "groupLabels": {"alertname": alerts[0]["labels"]["alertname"]} if alerts else {},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.example:9093",
        "version": "4",
        "groupKey": group_key,
        "truncatedAlerts": 0,
    }


def bearer(token: str) -> dict[str, str]:
    """An Authorization header with a bearer token."""
    return {"Authorization": f"Bearer {token}"}


def basic(user: str, password: str) -> dict[str, str]:
    """An Authorization header with basic credentials."""
    raw = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def hex_hmac(secret: str, message: bytes) -> str:
    """Hex HMAC-SHA256."""
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sentry_headers(
    body: bytes, resource: str, *, secret: str = SENTRY_SECRET, ts: float | None = None
) -> dict[str, str]:
    """The headers Sentry signs an integration webhook with."""
    return {
        "Content-Type": "application/json",
        "Sentry-Hook-Resource": resource,
        "Sentry-Hook-Timestamp": str(int(ts if ts is not None else time.time())),
        "Sentry-Hook-Signature": hex_hmac(secret, body),
        "Request-ID": hashlib.md5(body).hexdigest(),  # noqa: S324 - an id, not security
    }


def pd_headers(body: bytes, *, webhook_id: str, secrets: tuple[str, ...] = (PD_SECRET,)) -> dict[str, str]:
    """The headers PagerDuty signs a v3 webhook with."""
    return {
        "Content-Type": "application/json",
        "X-Webhook-Id": webhook_id,
        "X-PagerDuty-Signature": ",".join(f"v1={hex_hmac(s, body)}" for s in secrets),
    }


def dumps(payload: Any) -> bytes:
    """JSON bytes."""
    return json.dumps(payload).encode()


def path_for(name: str) -> Path:
    """A file next to these tests."""
    return Path(__file__).parent / name


# ---------------------------------------------------------------- database views


async def stored_alerts(flare: Flare) -> list[Any]:
    """Every stored alert occurrence, oldest first."""
    from sqlalchemy import select

    from bot.alerts.models import AlertRecord

    async with flare.container.db.sessions() as session:
        return list((await session.execute(select(AlertRecord).order_by(AlertRecord.id))).scalars())


async def stored_groups(flare: Flare) -> list[Any]:
    """Every alert group, oldest first."""
    from sqlalchemy import select

    from bot.alerts.models import AlertGroup

    async with flare.container.db.sessions() as session:
        return list((await session.execute(select(AlertGroup).order_by(AlertGroup.id))).scalars())


def block_text(blocks: list[dict[str, Any]] | None) -> str:
    """All the text in a message's blocks, joined by newlines."""
    out: list[str] = []
    for block in blocks or []:
        text = block.get("text")
        if isinstance(text, dict):
            out.append(str(text.get("text", "")))
        for element in block.get("elements", []) or []:
            if isinstance(element, dict) and element.get("type") in ("mrkdwn", "plain_text"):
                out.append(str(element.get("text", "")))
            elif isinstance(element, dict) and isinstance(element.get("text"), dict):
                out.append(str(element["text"].get("text", "")))
    return "\n".join(out)
