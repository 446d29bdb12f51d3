"""Run `flare serve` as a real child process, the way an operator (or Cloud Run) starts it."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from tests.fakes.slack import BOT_TOKEN, FakeSlack
from tests.support.slack_client import SIGNING_SECRET

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "tests" / "data" / "catalog.yaml"
_INHERIT_BLOCK = ("SLACK_", "SENTRY_", "FLARE_", "DATABASE_", "PORT", "METRICS_", "LOG_", "CLOUD_RUN_")


def free_port() -> int:
    """A free loopback TCP port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(fake: FakeSlack, database_url: str, **extra: str) -> dict[str, str]:
    """The environment for a server talking to `fake`; nothing Flare-related is inherited."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_INHERIT_BLOCK)}
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


@dataclass
class ServerProcess:
    """A `flare serve` child process."""

    process: subprocess.Popen[bytes]
    url: str
    port: int
    ready_after_s: float
    log_path: Path

    def rss_mb(self) -> float:
        """Resident set size in MB."""
        import psutil

        return float(psutil.Process(self.process.pid).memory_info().rss) / (1024 * 1024)

    def terminate(self, timeout: float = 15.0) -> int:
        """SIGTERM, then wait for the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def kill(self) -> None:
        """SIGKILL: no cleanup at all, as when a container is killed."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def log(self) -> str:
        """Everything the server wrote to stderr/stdout."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


async def start_server(
    env: dict[str, str], workdir: Path | None = None, *, timeout: float = 30.0, port: int | None = None
) -> ServerProcess:
    """Start `flare serve` in `workdir` (a new temp dir by default); wait until /health/ready is 200.

    `port` (default: a free one) is for servers that must know their URL beforehand (FLARE_PUBLIC_URL).
    """
    workdir = workdir or Path(tempfile.mkdtemp(prefix="flare-serve-"))
    port = port or free_port()
    log_path = workdir / f"flare-{port}.log"
    started = time.perf_counter()
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "handlers.entry", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env={**env, "PORT": str(port)},
            cwd=workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as session:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"flare serve exited with {process.returncode}: {log_path.read_text()}")
            try:
                async with session.get(url + "/health/ready") as response:
                    if response.status == 200:
                        break
            except aiohttp.ClientError:
                pass
            if time.perf_counter() - started > timeout:
                process.kill()
                raise RuntimeError(f"flare serve did not become ready: {log_path.read_text()}")
            await asyncio.sleep(0.01)
    return ServerProcess(process, url, port, time.perf_counter() - started, log_path)
