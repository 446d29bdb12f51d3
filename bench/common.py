"""Shared benchmark plumbing: a Flare server process, the fake Slack, signed requests, statistics."""

from __future__ import annotations

import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from tests.fakes.slack import BOT_TOKEN, FakeSlack
from tests.support.slack_client import SIGNING_SECRET, SlackClient

ROOT = Path(__file__).resolve().parent.parent
CATALOG = ROOT / "tests" / "data" / "catalog.yaml"


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
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def free_port() -> int:
    """A free loopback TCP port."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """A `flare serve` child process."""

    process: subprocess.Popen[bytes]
    url: str
    port: int
    started_s: float
    workdir: Path

    def rss_mb(self) -> float:
        """Resident set size of the server process, in MB."""
        import psutil

        return float(psutil.Process(self.process.pid).memory_info().rss) / (1024 * 1024)

    def stop(self) -> None:
        """SIGTERM and wait."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()


def server_env(fake: FakeSlack, database_url: str, **extra: str) -> dict[str, str]:
    """The environment for a benchmark server talking to `fake`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "SENTRY_", "FLARE_"))}
    env.update(
        {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": fake.base_url,
            "DATABASE_URL": database_url,
            "FLARE_CONFIG": str(CATALOG),
            "LOG_LEVEL": "WARNING",
            "FLARE_TICK_INTERVAL_SECONDS": "0",
        }
    )
    env.update(extra)
    return env


async def start_server(env: dict[str, str], *, workdir: Path | None = None, timeout: float = 30.0) -> Server:
    """Start `flare serve` and wait until /health/ready answers 200."""
    port = free_port()
    workdir = workdir or Path(tempfile.mkdtemp(prefix="flare-bench-"))
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "handlers.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env={**env, "PORT": str(port)},
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as session:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"flare serve exited with {process.returncode}")
            try:
                async with session.get(url + "/health/ready") as response:
                    if response.status == 200:
                        break
            except aiohttp.ClientError:
                pass
            if time.perf_counter() - started > timeout:
                process.kill()
                raise RuntimeError("flare serve did not become ready")
            await asyncio.sleep(0.01)
    return Server(process, url, port, time.perf_counter() - started, workdir)


def sqlite_url(workdir: Path) -> str:
    """An SQLite URL inside `workdir`."""
    return f"sqlite+aiosqlite:///{workdir / 'flare.db'}"


def slack_client(url: str, session: aiohttp.ClientSession, fake: FakeSlack) -> SlackClient:
    """A signed-request client aimed at `url`."""
    return SlackClient(url, session, response_url=fake.response_url)


__all__ = [
    "BOT_TOKEN",
    "CATALOG",
    "FakeSlack",
    "Figure",
    "Server",
    "median",
    "percentile",
    "server_env",
    "slack_client",
    "sqlite_url",
    "start_server",
]
