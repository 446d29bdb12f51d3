"""Operations figures: Socket Mode ack latency and idle RSS, and how long a /metrics scrape takes.

Measured against real `flare serve` processes on SQLite talking to the fake Slack (Socket Mode
envelopes go over the fake's websocket; the ack time is measured by the fake, as Slack would).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from bench.common import (
    FakeSlack,
    Figure,
    SlackClient,
    median,
    percentile,
    server_env,
    sqlite_url,
    start_server,
)
from tests.fakes.slack import APP_TOKEN
from tests.support.process import free_port

NAME = "ops"
METRICS_TOKEN = "bench-metrics-token-0123"


async def _socket_server(fake: FakeSlack, workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    """`flare serve --socket-mode` in `workdir`, ready on its port and connected to the fake."""
    port = free_port()
    env = server_env(fake, sqlite_url(workdir), SLACK_APP_TOKEN=APP_TOKEN, PORT=str(port))
    log = (workdir / "flare.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "handlers.cli", "serve", "--socket-mode", "--host", "127.0.0.1"],
        env=env,
        cwd=workdir,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as session:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"flare serve --socket-mode exited: {(workdir / 'flare.log').read_text()}")
            try:
                async with session.get(url + "/health/ready") as response:
                    if response.status == 200:
                        break
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("flare serve --socket-mode did not become ready")
            await asyncio.sleep(0.02)
    await fake.wait_for_socket(timeout=30)
    return process, url


def _rss_mb(pid: int) -> float:
    import psutil

    return float(psutil.Process(pid).memory_info().rss) / (1024 * 1024)


async def _socket_acks(count: int, concurrency: int) -> dict[str, float]:
    """/incident help envelopes over Socket Mode: ack latency (ms) as the fake measures it; idle RSS."""
    fake = await FakeSlack().start()
    with tempfile.TemporaryDirectory() as tmp:
        process, _url = await _socket_server(fake, Path(tmp))
        try:
            await asyncio.sleep(3)
            rss = _rss_mb(process.pid)
            for _ in range(20):  # warm up
                await fake.socket_ack(
                    await fake.socket_send(
                        "slash_commands",
                        fake.command_payload("/incident", "help"),
                        accepts_response_payload=True,
                    )
                )
            latencies: list[float] = []
            missing = 0

            async def worker() -> None:
                nonlocal missing
                for _ in range(count // concurrency):
                    payload = fake.command_payload("/incident", "help")
                    envelope = await fake.socket_send(
                        "slash_commands", payload, accepts_response_payload=True
                    )
                    ack = await fake.socket_ack(envelope, timeout=3.0)
                    if not ack.payload:
                        missing += 1
                    latencies.append(ack.after * 1000)

            await asyncio.gather(*(worker() for _ in range(concurrency)))
        finally:
            process.terminate()
            await asyncio.to_thread(process.wait, 15)
            await fake.stop()
    return {
        "p50": median(latencies),
        "p99": percentile(latencies, 99),
        "rss": rss,
        "missing": float(missing),
        "n": float(len(latencies)),
    }


async def _scrape_times(declares: int, deploys: int, scrapes: int) -> dict[str, float]:
    """GET /metrics latency (ms) after `declares` incidents and `deploys` deploy events."""
    fake = await FakeSlack().start()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        catalog = workdir / "flare.yaml"
        catalog.write_text(
            (Path(__file__).resolve().parent.parent / "tests" / "data" / "catalog.yaml").read_text()
            + "\ndeploys:\n  token_env: FLARE_BENCH_DEPLOY_TOKEN\n"
        )
        env = server_env(
            fake,
            sqlite_url(workdir),
            FLARE_CONFIG=str(catalog),
            METRICS_TOKEN=METRICS_TOKEN,
            FLARE_BENCH_DEPLOY_TOKEN="bench-deploy-token-0123",
        )
        server = await start_server(env, workdir)
        times: list[float] = []
        try:
            async with aiohttp.ClientSession() as session:
                client = SlackClient(server.url, session)
                for i in range(declares):
                    await client.command(
                        "/incident", f"declare P{i % 4} bench incident {i} --service checkout"
                    )
                deploy_auth = {
                    "Authorization": "Bearer bench-deploy-token-0123",
                    "Content-Type": "application/json",
                }
                for i in range(deploys):
                    body: dict[str, Any] = {
                        "service": "checkout" if i % 2 else "search",
                        "env": "production",
                        "status": "succeeded",
                        "deploy_id": f"bench-{i}",
                        "revision": f"rev-{i:05d}",
                    }
                    async with session.post(
                        server.url + "/webhooks/deploy", data=json.dumps(body), headers=deploy_auth
                    ) as response:
                        await response.read()
                auth = {"Authorization": f"Bearer {METRICS_TOKEN}"}
                for _ in range(scrapes):
                    started = time.perf_counter()
                    async with session.get(server.url + "/metrics", headers=auth) as response:
                        await response.read()
                        assert response.status == 200
                    times.append((time.perf_counter() - started) * 1000)
        finally:
            server.terminate()
            await fake.stop()
    return {"p50": median(times), "p99": percentile(times, 99)}


async def run(options: Any) -> list[Figure]:
    """Socket Mode ack latency (sequential and 20 concurrent), idle RSS, /metrics scrape time."""
    quick = bool(getattr(options, "quick", False))
    repeat = 1 if quick else max(1, int(getattr(options, "repeat", 1)))
    figures: list[Figure] = []
    for concurrency in (1, 20):
        runs = [await _socket_acks(100 if quick else 400, concurrency) for _ in range(repeat)]
        note = f"{int(runs[-1]['n'])} envelopes per run, acks without payload: {int(runs[-1]['missing'])}"
        p50 = [r["p50"] for r in runs]
        p99 = [r["p99"] for r in runs]
        figures.append(
            Figure(
                NAME,
                f"Socket Mode /incident help ack p50, {concurrency} in flight",
                median(p50),
                "ms",
                "<= 10 ms",
                median(p50) <= 10,
                p50,
                note,
            )
        )
        figures.append(
            Figure(
                NAME,
                f"Socket Mode /incident help ack p99, {concurrency} in flight",
                median(p99),
                "ms",
                "<= 50 ms",
                median(p99) <= 50,
                p99,
                note,
            )
        )
        if concurrency == 1:
            rss = [r["rss"] for r in runs]
            figures.append(
                Figure(
                    NAME,
                    "idle RSS, flare serve --socket-mode",
                    median(rss),
                    "MB",
                    "<= 120 MB",
                    median(rss) <= 120,
                    rss,
                )
            )
    declares, deploys = (20, 50) if quick else (200, 500)
    scrapes = [await _scrape_times(declares, deploys, 50) for _ in range(repeat)]
    for key, target, limit in (("p50", "<= 100 ms", 100.0), ("p99", "<= 250 ms", 250.0)):
        values = [s[key] for s in scrapes]
        figures.append(
            Figure(
                NAME,
                f"GET /metrics {key} ({declares} incidents, {deploys} deploys; SQLite)",
                median(values),
                "ms",
                target,
                median(values) <= limit,
                values,
            )
        )
    return figures
