"""Three real Alertmanager peers gossiping on loopback, for the HA silence test."""

from __future__ import annotations

import asyncio
import subprocess
import time
from pathlib import Path

import aiohttp

from tests.support.alertmanager import CONFIG, _free_port, binary


class Peer:
    """One clustered Alertmanager process."""

    def __init__(self, workdir: Path, cluster_port: int, peers: list[int]) -> None:
        self.workdir = workdir
        self.port = _free_port()
        self.cluster_port = cluster_port
        self.peers = peers
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Its API."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start the process (readiness is awaited by the cluster)."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "alertmanager.yml"
        config.write_text(CONFIG.format(url="http://127.0.0.1:9/unused", token="unused-token-1"))
        args = [
            binary(),
            f"--config.file={config}",
            f"--storage.path={self.workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            f"--cluster.listen-address=127.0.0.1:{self.cluster_port}",
            "--cluster.advertise-address=127.0.0.1:" + str(self.cluster_port),
            "--cluster.gossip-interval=50ms",
            "--cluster.pushpull-interval=1s",
            *(f"--cluster.peer=127.0.0.1:{p}" for p in self.peers if p != self.cluster_port),
        ]
        with (self.workdir / "alertmanager.log").open("wb") as log:
            self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)

    def stop(self) -> None:
        """Terminate it."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


async def start_cluster(workdir: Path, size: int = 3, timeout: float = 30.0) -> list[Peer]:
    """`size` peers that see each other (GET /api/v2/status lists every peer)."""
    cluster_ports = [_free_port() for _ in range(size)]
    peers = [Peer(workdir / f"peer-{i}", port, cluster_ports) for i, port in enumerate(cluster_ports)]
    for peer in peers:
        peer.start()
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as http:
        for peer in peers:
            while True:
                try:
                    async with http.get(peer.url + "/api/v2/status") as response:
                        if response.status == 200:
                            body = await response.json()
                            if len((body.get("cluster") or {}).get("peers") or []) == size:
                                break
                except aiohttp.ClientError:
                    pass
                if time.monotonic() > deadline:
                    log = (peer.workdir / "alertmanager.log").read_text()[-2000:]
                    raise RuntimeError(f"the Alertmanager cluster did not form:\n{log}")
                await asyncio.sleep(0.2)
    return peers
