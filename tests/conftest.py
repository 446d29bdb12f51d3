"""Shared fixtures: a migrated database per test (SQLite or PostgreSQL), the fake Slack, a running Flare."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
from aiohttp import web
from sqlalchemy.engine import make_url

from bot.catalog import Catalog, load_catalog
from bot.container import Container
from bot.db import migrate
from bot.settings import Settings
from handlers.app import create_app
from handlers.keys import CONTAINER
from migrations.metadata import metadata
from tests.fakes.cloudrun import FakeCloudRun
from tests.fakes.slack import BOT_TOKEN, FakeSlack
from tests.support.slack_client import SIGNING_SECRET, SlackClient

DATA = Path(__file__).parent / "data"
METRICS_TOKEN = "metrics-token-1234"
API_TOKEN = "api-token-5678"
TICK_TOKEN = "tick-token-9012"


def pg_url() -> str | None:
    """The PostgreSQL URL of the PostgreSQL lane, normalised to asyncpg."""
    raw = os.environ.get("TEST_DATABASE_URL")
    if not raw:
        return None
    url = make_url(raw)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+asyncpg")
    return url.render_as_string(hide_password=False)


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def pg_create_database(base_url: str, name: str) -> str:
    """Create database `name` next to `base_url`'s and return its URL."""
    conn = await asyncpg.connect(_asyncpg_dsn(base_url))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return make_url(base_url).set(database=name).render_as_string(hide_password=False)


async def pg_drop_database(base_url: str, name: str) -> None:
    """Drop database `name` (disconnecting anyone still attached)."""
    conn = await asyncpg.connect(_asyncpg_dsn(base_url))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@dataclass
class DbTemplate:
    """A database migrated once per session; each test gets a clean copy of it."""

    url: str
    sqlite_file: Path | None = None


@pytest.fixture(scope="session")
def db_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DbTemplate]:
    """Migrate a template database with the real migrations."""
    base = pg_url()
    if base is None:
        path = tmp_path_factory.mktemp("db") / "template.db"
        url = f"sqlite+aiosqlite:///{path}"
        migrate.upgrade(url)
        yield DbTemplate(url, path)
        return
    name = f"flare_test_{uuid.uuid4().hex[:10]}"
    url = asyncio.run(pg_create_database(base, name))
    try:
        migrate.upgrade(url)
        yield DbTemplate(url)
    finally:
        asyncio.run(pg_drop_database(base, name))


@pytest.fixture
async def database_url(db_template: DbTemplate, tmp_path: Path) -> str:
    """A clean, fully migrated database for this test."""
    if db_template.sqlite_file is not None:
        target = tmp_path / "flare.db"
        shutil.copyfile(db_template.sqlite_file, target)
        return f"sqlite+aiosqlite:///{target}"
    tables = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    conn = await asyncpg.connect(_asyncpg_dsn(db_template.url))
    try:
        await conn.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    finally:
        await conn.close()
    return db_template.url


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    """The fake Slack Web API on a loopback port."""
    fake = await FakeSlack().start()
    yield fake
    await fake.stop()


@pytest.fixture
async def fake_cloudrun() -> AsyncIterator[FakeCloudRun]:
    """The fake Cloud Run Admin API serving the test catalog's services (checkout, search)."""
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
def catalog() -> Catalog:
    """The standard test catalog."""
    return load_catalog(DATA / "catalog.yaml")


@pytest.fixture
def make_settings(
    database_url: str, fake_slack: FakeSlack, fake_cloudrun: FakeCloudRun
) -> Callable[..., Settings]:
    """Settings for a test instance, with any field overridden."""

    def build(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "slack_bot_token": BOT_TOKEN,
            "slack_signing_secret": SIGNING_SECRET,
            "slack_api_url": fake_slack.base_url,
            "cloud_run_api_endpoint": fake_cloudrun.url,
            "database_url": database_url,
            "flare_config": DATA / "catalog.yaml",
            "log_level": "WARNING",
            "metrics_token": METRICS_TOKEN,
            "flare_api_token": API_TOKEN,
            "flare_tick_token": TICK_TOKEN,
            "flare_tick_interval_seconds": 0,
            "sentry_dsn": None,
            # Deadlines far past Slack's budget: a loaded CI machine must not turn a slow answer into a
            # "could not reach its database" one. Tests of the deadlines set them (tests/boundaries).
            "flare_slack_deadline_seconds": 20.0,
            "flare_webhook_deadline_seconds": 20.0,
            "flare_ready_timeout_seconds": 3.0,
        }
        values.update(overrides)
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]

    return build


@dataclass
class Flare:
    """A Flare app serving on a loopback port, with clients aimed at it."""

    app: web.Application
    runner: web.AppRunner
    url: str
    http: aiohttp.ClientSession
    slack: SlackClient
    stopped: bool = False

    @property
    def container(self) -> Container:
        """The app's dependency container (its database, clock, dispatcher)."""
        return self.app[CONTAINER]

    async def get(self, path: str, **kwargs: Any) -> tuple[int, Any]:
        """GET `path`; (status, parsed JSON or text)."""
        async with self.http.get(self.url + path, **kwargs) as response:
            return response.status, await _body(response)

    async def post(self, path: str, **kwargs: Any) -> tuple[int, Any]:
        """POST `path`; (status, parsed JSON or text)."""
        async with self.http.post(self.url + path, **kwargs) as response:
            return response.status, await _body(response)

    async def stop(self) -> None:
        """Shut down as on SIGTERM."""
        if not self.stopped:
            self.stopped = True
            await self.runner.cleanup()


async def _body(response: aiohttp.ClientResponse) -> Any:
    if response.content_type == "application/json":
        return await response.json()
    return await response.text()


StartFlare = Callable[..., Awaitable[Flare]]


@pytest.fixture
async def start_flare(
    make_settings: Callable[..., Settings], fake_slack: FakeSlack, catalog: Catalog
) -> AsyncIterator[StartFlare]:
    """Start a Flare instance (several may share the database); all are stopped at the end."""
    started: list[Flare] = []
    session = aiohttp.ClientSession()

    async def start(
        settings: Settings | None = None, *, catalog_: Catalog | None = None, **kwargs: Any
    ) -> Flare:
        settings = settings or make_settings()
        app = create_app(settings, catalog=catalog_ or catalog, **kwargs)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        url = f"http://127.0.0.1:{port}"
        flare = Flare(
            app, runner, url, session, SlackClient(url, session, response_url=fake_slack.response_url)
        )
        started.append(flare)
        return flare

    yield start
    for flare in started:
        await flare.stop()
    await session.close()


@pytest.fixture
async def flare(start_flare: StartFlare) -> Flare:
    """One running Flare on the test database, talking to the fake Slack."""
    return await start_flare()
