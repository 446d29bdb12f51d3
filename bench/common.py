"""Shared benchmark plumbing: figures, statistics, and re-exports of the server/fake helpers."""

from __future__ import annotations

import statistics
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from bot.db import migrate
from tests.fakes.slack import BOT_TOKEN, FakeSlack
from tests.support.process import CATALOG, ServerProcess, free_port, server_env, start_server
from tests.support.slack_client import SIGNING_SECRET, SlackClient

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Figure:
    """One measured figure: what, the median over runs, the target, and whether it is met."""

    bench: str
    what: str
    value: float
    unit: str
    target: str = ""
    ok: bool | None = None
    runs: list[float] = field(default_factory=list)
    note: str = ""


def median(values: Sequence[float]) -> float:
    """The median (0 for no values)."""
    return statistics.median(values) if values else 0.0


def percentile(values: Sequence[float], pct: float) -> float:
    """The pct-th percentile by nearest rank."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-pct * len(ordered) // 100))))
    return ordered[rank - 1]


def sqlite_url(workdir: Path) -> str:
    """An SQLite URL inside `workdir`."""
    return f"sqlite+aiosqlite:///{workdir / 'flare.db'}"


@asynccontextmanager
async def scratch_database(base_url: str | None, workdir: Path) -> AsyncIterator[str]:
    """A migrated, empty database: a new SQLite file in `workdir`, or a PostgreSQL database dropped after."""
    if base_url is None:
        url = sqlite_url(workdir)
        await migrate.upgrade_async(url)
        yield url
        return
    base = make_url(base_url).set(drivername="postgresql+asyncpg")
    name = f"flare_bench_{uuid.uuid4().hex[:8]}"
    admin = base.set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    url = base.set(database=name).render_as_string(hide_password=False)
    try:
        await migrate.upgrade_async(url)
        yield url
    finally:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


__all__ = [
    "BOT_TOKEN",
    "CATALOG",
    "ROOT",
    "SIGNING_SECRET",
    "FakeSlack",
    "Figure",
    "ServerProcess",
    "SlackClient",
    "free_port",
    "median",
    "percentile",
    "scratch_database",
    "server_env",
    "sqlite_url",
    "start_server",
]
