"""A real Alertmanager process on loopback (Debian's `prometheus-alertmanager`), for integration tests.

Clustering is disabled (`--cluster.listen-address=`) and ports are picked free, so it never clashes
with a packaged service on 9093. The webhook receiver points at a running Flare with a bearer token.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

BINARIES = ("prometheus-alertmanager", "alertmanager")
INSTALL_HINT = (
    "the Alertmanager integration test needs a real Alertmanager binary; "
    "install it with `apt-get install -y prometheus-alertmanager` (CI does)"
)

CONFIG = """\
route:
  receiver: flare
  group_by: [alertname]
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 1h
receivers:
  - name: flare
    webhook_configs:
      - url: {url}
        send_resolved: true
        max_alerts: 0
        http_config:
          authorization:
            type: Bearer
            credentials: {token}
"""


def binary() -> str:
    """The Alertmanager executable; fails the test (never skips) when it is not installed."""
    for name in BINARIES:
        found = shutil.which(name)
        if found:
            return found
    pytest.fail(INSTALL_HINT, pytrace=False)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Alertmanager:
    """One Alertmanager process; use `start`, `post_alerts`, `stop`."""

    def __init__(self, workdir: Path, webhook_url: str, token: str) -> None:
        self.workdir = workdir
        self.webhook_url = webhook_url
        self.token = token
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.log = workdir / "alertmanager.log"

    @property
    def url(self) -> str:
        """Where its API listens."""
        return f"http://127.0.0.1:{self.port}"

    async def start(self, timeout: float = 20.0) -> Alertmanager:
        """Write the config, start the process and wait for /-/ready."""
        executable = binary()
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "alertmanager.yml"
        config.write_text(CONFIG.format(url=self.webhook_url, token=self.token))
        self.port = _free_port()
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    executable,
                    f"--config.file={config}",
                    f"--storage.path={self.workdir / 'data'}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                    "--cluster.listen-address=",
                    "--log.level=debug",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as session:
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(f"alertmanager exited early:\n{self.log.read_text()[-3000:]}")
                try:
                    async with session.get(self.url + "/-/ready") as response:
                        if response.status == 200:
                            return self
                except aiohttp.ClientError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"alertmanager not ready:\n{self.log.read_text()[-3000:]}")
                await asyncio.sleep(0.1)

    async def post_alerts(self, alerts: list[dict[str, Any]]) -> None:
        """POST /api/v2/alerts, as Prometheus does."""
        async with (
            aiohttp.ClientSession() as session,
            session.post(self.url + "/api/v2/alerts", json=alerts) as response,
        ):
            if response.status != 200:
                raise RuntimeError(
                    f"alertmanager refused the alerts: {response.status} {await response.text()}"
                )

    def stop(self) -> None:
        """Terminate the process."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
