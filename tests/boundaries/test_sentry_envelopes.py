"""No registered secret reaches Sentry or the logs, whatever path the error happens on.

A loopback HTTP server is the Sentry DSN and records every envelope sentry-sdk really sends. The database
refuses every insert (a trigger raises, as a broken migration or a full disk would), so each authenticated
path -- query-string tokens, bearer, basic, HMAC headers, Slack's signature -- hits an unexpected error.
"""

from __future__ import annotations

import gzip
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlencode

import pytest
import sentry_sdk
from sqlalchemy import text

from bot.db.engine import Database
from bot.observability.logging import configure_logging
from bot.observability.secrets import SecretRegistry, collect_secrets
from bot.observability.sentry import init_sentry
from bot.settings import Settings
from tests.alerts import conftest as a
from tests.alerts.conftest import am_alert, am_payload
from tests.boundaries.conftest import ALERT_SOURCES, DEPLOY_TOKEN, webhook_request
from tests.conftest import API_TOKEN, METRICS_TOKEN, TICK_TOKEN, Flare, StartFlare

DB_PASSWORD = "pg-pass-Zq81-boundaries"


class SentryServer:
    """Records the envelopes POSTed to /api/<project>/envelope/ (in its own thread: sentry-sdk's sender
    is a thread too, and flush() blocks the caller until the envelopes are delivered)."""

    def __init__(self) -> None:
        self.bodies: list[str] = []
        bodies = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.headers.get("Content-Encoding") == "gzip":
                    raw = gzip.decompress(raw)
                bodies.append(raw.decode("utf-8", "replace"))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"id": "00000000000000000000000000000000"}')

            def log_message(self, *_args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def events(self) -> list[dict[str, Any]]:
        """Every event item in the envelopes received."""
        found = []
        for body in list(self.bodies):
            lines = body.split("\n")
            for header, payload in zip(lines[1::2], lines[2::2], strict=False):
                if header and json.loads(header).get("type") == "event":
                    found.append(json.loads(payload))
        return found

    def stop(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def sentry_server() -> Iterator[SentryServer]:
    """The loopback Sentry."""
    server = SentryServer()
    yield server
    server.stop()


@pytest.fixture
def reset_sentry() -> Iterator[None]:
    """Sentry is process-global: close it after the test."""
    yield
    sentry_sdk.get_client().close()
    sentry_sdk.init()


REFUSE = {
    "sqlite": [
        "CREATE TRIGGER refuse_{t} BEFORE INSERT ON {t} BEGIN SELECT RAISE(ABORT, 'refused by test'); END",
    ],
    "postgresql": [
        "CREATE OR REPLACE FUNCTION refuse() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'refused by test'; "
        "END $$ LANGUAGE plpgsql",
        "CREATE TRIGGER refuse_{t} BEFORE INSERT ON {t} FOR EACH ROW EXECUTE FUNCTION refuse()",
    ],
}


REFUSING = ("incidents", "alerts", "alert_groups", "deploys", "inbound_keys")


async def _run(database_url: str, statements: list[str]) -> None:
    db = Database(database_url, pool_size=1)
    try:
        async with db.transaction() as session:
            for statement in statements:
                await session.execute(text(statement))
    finally:
        await db.close()


@pytest.fixture
async def refused_inserts(database_url: str) -> AsyncIterator[None]:
    """Every insert into the tables Flare writes on a request fails, for this test only.

    On PostgreSQL the test database outlives the test (later tests only truncate it), so the
    triggers and their function are dropped again afterwards.
    """
    dialect = "postgresql" if database_url.startswith("postgresql") else "sqlite"
    statements = REFUSE[dialect]
    setup = statements[:1] if dialect == "postgresql" else []
    setup += [statement.format(t=table) for table in REFUSING for statement in statements[len(setup) :]]
    await _run(database_url, setup)
    yield
    teardown = [
        f"DROP TRIGGER IF EXISTS refuse_{t}" + (f" ON {t}" if dialect == "postgresql" else "")
        for t in REFUSING
    ]
    if dialect == "postgresql":
        teardown.append("DROP FUNCTION IF EXISTS refuse()")
    await _run(database_url, teardown)


async def test_no_registered_secret_reaches_sentry_envelopes_breadcrumbs_or_logs(
    start_flare: StartFlare,
    make_settings: Any,
    full_catalog: Any,
    all_env: dict[str, str],
    database_url: str,
    sentry_server: SentryServer,
    reset_sentry: None,
    refused_inserts: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings: Settings = make_settings(
        sentry_dsn=f"http://public@127.0.0.1:{sentry_server.port}/1",
        sentry_environment="test",
        log_level="INFO",
        slack_app_token="xapp-1-A0FLARE-boundaries-socket-token",
    )
    registry = SecretRegistry(collect_secrets(settings.secret_values(), full_catalog, all_env))
    registry.add([DB_PASSWORD])
    configure_logging("INFO", registry)
    assert init_sentry(settings, registry=registry)
    flare: Flare = await start_flare(settings, catalog_=full_catalog)
    statuses: dict[str, int] = {}

    # Slack: signed command and interaction (HMAC headers), the signing secret in the form as a decoy.
    reply = await flare.slack.command("/incident", f"declare P1 {DB_PASSWORD} --service checkout")
    statuses["slack command"] = reply.status
    # Alert webhooks: bearer, basic, HMAC and query-string tokens, with secrets in the body too.
    alert = am_payload(am_alert("Leak", service="checkout", summary=f"token {a.AM_TOKEN}"))
    body = json.dumps(alert).encode()
    generic = {"alerts": [{"dedup_key": "leak", "title": f"leak {a.GENERIC_TOKEN}", "service": "checkout"}]}
    query = urlencode({"token": a.GENERIC_TOKEN, "key": a.GENERIC_TOKEN})
    status, _ = await flare.post(f"/webhooks/generic?{query}", json=generic)
    statuses["generic?token"] = status
    for source in ALERT_SOURCES:
        url, headers = webhook_request(source, body)
        status, _ = await flare.post(url, data=body, headers={**headers, "Content-Type": "application/json"})
        statuses[source] = status
    query = urlencode({"token": a.GCP_TOKEN, "key": a.GCP_TOKEN})
    status, _ = await flare.post(f"/webhooks/gcp-monitoring?{query}", data=b"{}")
    statuses["gcp-monitoring?token"] = status
    deploy = {"service": "checkout", "env": "production", "status": "succeeded", "revision": "checkout-1"}
    status, _ = await flare.post(
        "/webhooks/deploy", json=deploy, headers={"Authorization": f"Bearer {DEPLOY_TOKEN}"}
    )
    statuses["deploy"] = status
    for path, token, method in (
        ("/api/incidents", API_TOKEN, "get"),
        ("/metrics", METRICS_TOKEN, "get"),
        ("/tasks/tick", TICK_TOKEN, "post"),
    ):
        for supplied in (token, token + "-wrong"):
            send = flare.get if method == "get" else flare.post
            status, _ = await send(
                f"{path}?token={supplied}", headers={"Authorization": f"Bearer {supplied}"}
            )
            statuses[f"{path} {supplied == token}"] = status
    sentry_sdk.flush(timeout=5)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and len(sentry_server.events()) < 3:
        sentry_sdk.flush(timeout=1)

    events = sentry_server.events()
    assert len(events) >= 3, (statuses, sentry_server.bodies)
    summary = [(e.get("request", {}).get("url"), e.get("request", {}).get("query_string")) for e in events]
    assert any((e.get("request") or {}).get("query_string") for e in events), (str(statuses), summary)
    everything = "\n".join(sentry_server.bodies) + "\n" + capsys.readouterr().err
    assert len(registry) >= 12
    leaked = [secret for secret in registry if secret in everything]
    assert leaked == [], statuses
    assert all(status < 500 or status == 500 for status in statuses.values())
    webhook_events = [e for e in events if "/webhooks/" in str((e.get("request") or {}).get("url"))]
    assert webhook_events, statuses
    assert all((e["request"].get("data") in (None, "[Filtered]")) for e in webhook_events)
