"""Hardened boundaries (issue #14): what verification costs, and answer times when the database hangs.

- signed `/incident help` and single-alert webhook latency, one request in flight, server on CPU 0;
  with FLARE_BENCH_BASELINE=<git rev> the same server built from that revision is measured in
  alternation (A/B/A/B...), so both see the same machine load;
- answer times while the database hangs: PostgreSQL behind a loopback proxy that stops forwarding,
  or (SQLite) another connection holding the write lock: p99 for Slack commands and webhooks.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy.engine import make_url

from bench.common import (
    CATALOG,
    ROOT,
    FakeSlack,
    Figure,
    SlackClient,
    median,
    percentile,
    scratch_database,
    server_env,
    start_server,
)
from tests.support.tcp_proxy import PausableProxy

NAME = "boundaries"
TOKEN = "bench-alertmanager-token-0123456789"
ROUTES = """
routes:
  update_interval_seconds: 10
  default:
    channels: [C0BENCH01]
webhooks:
  alertmanager:
    token_env: FLARE_BENCH_AM_TOKEN
"""
HEADERS = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
_serial = itertools.count()


def _payload() -> bytes:
    n = next(_serial)
    alert = {
        "status": "firing",
        "labels": {"alertname": "BenchAlert", "service": "checkout", "severity": "warning", "n": str(n)},
        "annotations": {"summary": f"bench alert {n}"},
        "startsAt": "2026-01-05T10:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus.example/graph",
        "fingerprint": f"{n:016x}",
    }
    body = {
        "receiver": "flare",
        "status": "firing",
        "alerts": [alert],
        "groupLabels": {"alertname": "BenchAlert"},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.example:9093",
        "version": "4",
        "groupKey": '{}:{alertname="BenchAlert"}',
        "truncatedAlerts": 0,
    }
    return json.dumps(body).encode()


@asynccontextmanager
async def _server(
    options: Any, fake: FakeSlack, *, source: Path | None = None, proxy_port: int | None = None
) -> AsyncIterator[tuple[Any, str]]:
    """`flare serve` (from `source` when given) with an alert catalog on CPU 0; yields (server, db url)."""
    with tempfile.TemporaryDirectory(prefix="flare-bench-boundaries-") as tmp:
        workdir = Path(tmp)
        catalog = workdir / "flare.yaml"
        catalog.write_text(CATALOG.read_text() + ROUTES)
        async with scratch_database(options.database_url, workdir) as url:
            served = url
            if proxy_port is not None:
                served = (
                    make_url(url).set(host="127.0.0.1", port=proxy_port).render_as_string(hide_password=False)
                )
            env = server_env(fake, served, FLARE_CONFIG=str(catalog), FLARE_BENCH_AM_TOKEN=TOKEN)
            if source is not None:
                env["PYTHONPATH"] = str(source)
            server = await start_server(env, workdir)
            if (os.cpu_count() or 1) >= 2:
                os.sched_setaffinity(server.process.pid, {0})
            try:
                yield server, url
            finally:
                server.terminate()


def _cpu_s(pid: int) -> float:
    import psutil

    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


async def _latencies(server: Any, requests: int) -> dict[str, Any]:
    """Help, then webhook: latency (ms) of each request, one in flight, and server CPU µs per request."""
    out: dict[str, Any] = {}
    async with aiohttp.ClientSession() as session:
        client = SlackClient(server.url, session)

        async def help_once() -> None:
            reply = await client.command("/incident", "help")
            assert reply.status == 200, reply.text

        async def hook_once() -> None:
            async with session.post(
                server.url + "/webhooks/alertmanager", data=_payload(), headers=HEADERS
            ) as r:
                await r.read()
                assert r.status == 200, r.status

        for name, once in (("help", help_once), ("hook", hook_once)):
            for _ in range(50):
                await once()
            took: list[float] = []
            cpu = _cpu_s(server.process.pid)
            for _ in range(requests):
                started = time.perf_counter()
                await once()
                took.append((time.perf_counter() - started) * 1000)
            out[name] = took
            out[f"{name}_cpu"] = (_cpu_s(server.process.pid) - cpu) / requests * 1e6
    return out


def _baseline_source(rev: str, into: Path) -> Path:
    """The tree of `rev`, extracted into `into`."""
    archive = subprocess.run(["git", "archive", rev], cwd=ROOT, check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


async def _ab(options: Any) -> dict[str, dict[str, list[float]]]:
    """Medians of help and webhook latency per run, for this tree and (optionally) the baseline."""
    rev = os.environ.get("FLARE_BENCH_BASELINE")
    requests = 150 if options.quick else 600
    runs: dict[str, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory(prefix="flare-bench-base-") as tmp:
        sources: dict[str, Path | None] = {"this tree": None}
        if rev:
            sources = {f"baseline {rev[:10]}": _baseline_source(rev, Path(tmp)), **sources}
        for _ in range(options.repeat):
            for label, source in sources.items():
                fake = await FakeSlack().start()
                try:
                    async with _server(options, fake, source=source) as (server, _url):
                        measured = await _latencies(server, requests)
                finally:
                    await fake.stop()
                entry = runs.setdefault(label, {})
                for name in ("help", "hook"):
                    entry.setdefault(f"{name}_p50", []).append(median(measured[name]))
                    entry.setdefault(f"{name}_p99", []).append(percentile(measured[name], 99))
                    entry.setdefault(f"{name}_cpu", []).append(measured[f"{name}_cpu"])
    return runs


async def _hung(options: Any) -> dict[str, float]:
    """Answer times of 20 commands and 20 webhooks sent while the database hangs."""
    fake = await FakeSlack().start()
    proxy: PausableProxy | None = None
    holder: sqlite3.Connection | None = None
    try:
        if options.database_url:
            base = make_url(options.database_url)
            proxy = await PausableProxy(base.host or "127.0.0.1", base.port or 5432).start()
        port = proxy.port if proxy is not None else None
        async with (
            _server(options, fake, proxy_port=port) as (server, url),
            aiohttp.ClientSession() as session,
        ):
            client = SlackClient(server.url, session)
            assert (await client.command("/incident", "help")).status == 200
            if proxy is not None:
                proxy.pause()
            else:
                holder = sqlite3.connect(make_url(url).database or "", isolation_level=None)
                holder.execute("BEGIN IMMEDIATE")

            async def command(i: int) -> tuple[str, float, int]:
                started = time.perf_counter()
                reply = await client.command("/incident", f"declare P3 bench hang {i} --service checkout")
                return "slack", time.perf_counter() - started, reply.status

            async def webhook() -> tuple[str, float, int]:
                started = time.perf_counter()
                async with session.post(
                    server.url + "/webhooks/alertmanager", data=_payload(), headers=HEADERS
                ) as r:
                    await r.read()
                    return "webhook", time.perf_counter() - started, r.status

            results = await asyncio.gather(*(command(i) for i in range(20)), *(webhook() for _ in range(20)))
            if proxy is not None:
                proxy.resume()
            if holder is not None:
                holder.execute("ROLLBACK")
    finally:
        if holder is not None:
            with contextlib.suppress(sqlite3.Error):
                holder.close()
        if proxy is not None:
            await proxy.stop()
        await fake.stop()
    slack = [t for kind, t, _s in results if kind == "slack"]
    hooks = [t for kind, t, _s in results if kind == "webhook"]
    return {
        "slack_p99": percentile(slack, 99),
        "webhook_p99": percentile(hooks, 99),
        "webhook_503": float(sum(1 for kind, _t, s in results if kind == "webhook" and s == 503)),
        "slack_200": float(sum(1 for kind, _t, s in results if kind == "slack" and s == 200)),
    }


async def run(options: Any) -> list[Figure]:
    """Latency with verification (A/B with FLARE_BENCH_BASELINE) and answers while the database hangs."""
    figures: list[Figure] = []
    db = "PostgreSQL" if options.database_url else "SQLite"
    for label, entry in (await _ab(options)).items():
        for key, what in (
            ("help_p50", "signed /incident help p50, 1 in flight"),
            ("help_p99", "signed /incident help p99, 1 in flight"),
            ("hook_p50", "single-alert webhook p50, 1 in flight"),
            ("hook_p99", "single-alert webhook p99, 1 in flight"),
            ("help_cpu", "signed /incident help: server CPU per request"),
            ("hook_cpu", "single-alert webhook: server CPU per request"),
        ):
            unit = "µs" if key.endswith("cpu") else "ms"
            figures.append(Figure(NAME, f"{what} ({label}, {db})", median(entry[key]), unit, runs=entry[key]))
    hung = [await _hung(options) for _ in range(options.repeat)]
    slack_p99 = median([h["slack_p99"] for h in hung])
    hook_p99 = median([h["webhook_p99"] for h in hung])
    polite = sum(h["slack_200"] for h in hung)
    refused = sum(h["webhook_503"] for h in hung)
    note = f"{polite:.0f} polite 200s, {refused:.0f} webhook 503s"
    figures.append(
        Figure(
            NAME,
            f"database hangs: Slack command answer p99 ({db})",
            slack_p99,
            "s",
            "<= 2.5 s",
            slack_p99 <= 2.5,
            [h["slack_p99"] for h in hung],
            note,
        )
    )
    figures.append(
        Figure(
            NAME,
            f"database hangs: webhook answer p99 ({db})",
            hook_p99,
            "s",
            "<= 3 s",
            hook_p99 <= 3.0,
            [h["webhook_p99"] for h in hung],
        )
    )
    return figures
