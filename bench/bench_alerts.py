"""Alert intake figures against a real `flare serve` process (SQLite, or PostgreSQL with --database-url).

1. Single-alert Alertmanager webhooks per second with durable writes: flat out (closed loop), and
   offered at 1,000/s (open loop) with the p99 latency of the answers.
2. Alerts per second in 100-alert payloads: with the server on one core, and free to use both (the
   issue's target for batches names no core count; the load generator still shares both).
3. A storm: 10,000 alerts in 60 s across 20 groups, against a fake Slack that rate-limits like Slack:
   every alert stored, <= 20 chat.postMessage, updates at most one per message per 10 s, peak RSS.

The server is pinned to CPU 0 and this process (load generator and fake Slack) to CPU 1 when the
machine has two or more CPUs, so "one core" means one core.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import func, select

from bench.common import (
    CATALOG,
    FakeSlack,
    Figure,
    median,
    percentile,
    scratch_database,
    server_env,
    start_server,
)
from bot.alerts.models import AlertRecord
from bot.db.engine import Database

NAME = "alerts"
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
METRICS = "bench-metrics-token-0123456789"


async def _server_latency(base_url: str) -> dict[float, float]:
    """The server's own latency histogram for the Alertmanager webhook: {bucket upper bound: count}."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(base_url + "/metrics", headers={"Authorization": f"Bearer {METRICS}"}) as response,
    ):
        text = await response.text()
    buckets: dict[float, float] = {}
    for line in text.splitlines():
        if line.startswith("http_request_duration_seconds_bucket") and "/webhooks/alertmanager" in line:
            bound = line.split('le="', 1)[1].split('"', 1)[0]
            buckets[float("inf") if bound == "+Inf" else float(bound)] = buckets.get(
                float("inf") if bound == "+Inf" else float(bound), 0.0
            ) + float(line.rsplit(" ", 1)[1])
    return buckets


def _p99_bound(before: dict[float, float], after: dict[float, float]) -> float:
    """The upper bound (ms) of the histogram bucket holding the 99th percentile of requests in between."""
    delta = {b: after.get(b, 0.0) - before.get(b, 0.0) for b in after}
    total = delta.get(float("inf"), 0.0)
    for bound in sorted(delta):
        if total and delta[bound] >= 0.99 * total:
            return bound * 1000
    return float("inf")


@asynccontextmanager
async def _server(options: Any, fake: FakeSlack) -> AsyncIterator[tuple[Any, str]]:
    """A `flare serve` with an alert catalog, pinned to CPU 0; yields (server, database url)."""
    with tempfile.TemporaryDirectory(prefix="flare-bench-alerts-") as tmp:
        workdir = Path(tmp)
        catalog = workdir / "flare.yaml"
        catalog.write_text(CATALOG.read_text() + ROUTES)
        async with scratch_database(options.database_url, workdir) as url:
            env = server_env(
                fake, url, FLARE_CONFIG=str(catalog), FLARE_BENCH_AM_TOKEN=TOKEN, METRICS_TOKEN=METRICS
            )
            server = await start_server(env, workdir)
            _pin(server.process.pid, 0)
            try:
                yield server, url
            finally:
                server.terminate()


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds the process has used so far."""
    import psutil

    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def _pin(pid: int, cpu: int | None) -> None:
    """Run `pid` on CPU `cpu` only (None: on every CPU), on machines with two or more."""
    if (os.cpu_count() or 1) >= 2 and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(pid, {cpu} if cpu is not None else set(range(os.cpu_count() or 1)))


_serial = itertools.count()


def _alert(group: int, *, status: str = "firing") -> dict[str, Any]:
    n = next(_serial)
    return {
        "status": status,
        "labels": {
            "alertname": f"BenchAlert{group}",
            "service": "checkout",
            "severity": "warning",
            "n": str(n),
        },
        "annotations": {"summary": f"bench alert {n} in group {group}"},
        "startsAt": "2026-01-05T10:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus.example/graph",
        "fingerprint": f"{n:016x}",
    }


def _payload(group: int, count: int) -> bytes:
    body = {
        "receiver": "flare",
        "status": "firing",
        "alerts": [_alert(group) for _ in range(count)],
        "groupLabels": {"alertname": f"BenchAlert{group}"},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.example:9093",
        "version": "4",
        "groupKey": f'{{}}:{{alertname="BenchAlert{group}"}}',
        "truncatedAlerts": 0,
    }
    return json.dumps(body).encode()


async def _post(session: aiohttp.ClientSession, url: str, body: bytes) -> tuple[int, float]:
    started = time.perf_counter()
    async with session.post(url, data=body, headers=HEADERS) as response:
        await response.read()
        return response.status, (time.perf_counter() - started) * 1000


async def _closed_loop(
    url: str, *, workers: int, seconds: float, per_payload: int, groups: int
) -> dict[str, float]:
    """Each worker sends payloads back to back for `seconds`."""
    latencies: list[float] = []
    errors = 0
    ok = 0
    deadline = time.perf_counter() + seconds
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=workers)) as session:

        async def worker(index: int) -> None:
            nonlocal errors
            group = index % groups
            nonlocal ok
            while time.perf_counter() < deadline:
                status, took = await _post(session, url, _payload(group, per_payload))
                latencies.append(took)
                errors += status != 200
                ok += per_payload if status == 200 else 0
                group = (group + 1) % groups

        started = time.perf_counter()
        await asyncio.gather(*(worker(i) for i in range(workers)))
        elapsed = time.perf_counter() - started
    return {
        "per_s": len(latencies) / elapsed,
        "alerts_per_s": len(latencies) * per_payload / elapsed,
        "p50": percentile(latencies, 50),
        "p99": percentile(latencies, 99),
        "errors": float(errors),
        "ok_alerts": float(ok),
    }


async def _open_loop(
    url: str, *, rate: float, seconds: float, groups: int, max_inflight: int = 2000
) -> dict[str, float]:
    """Offer `rate` single-alert webhooks per second for `seconds`, whatever the server's pace."""
    latencies: list[float] = []
    errors = 0
    ok = 0
    tasks: set[asyncio.Task[None]] = set()
    total = int(rate * seconds)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=max_inflight)) as session:

        async def one(group: int) -> None:
            nonlocal errors, ok
            status, took = await _post(session, url, _payload(group, 1))
            latencies.append(took)
            errors += status != 200
            ok += status == 200

        started = time.perf_counter()
        for i in range(total):
            due = started + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(one(i % groups))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - started
    return {
        "achieved": len(latencies) / elapsed,
        "p50": percentile(latencies, 50),
        "p99": percentile(latencies, 99),
        "errors": float(errors),
        "ok_alerts": float(ok),
    }


async def _count_alerts(url: str) -> int:
    db = Database(url, pool_size=1)
    try:
        async with db.sessions() as session:
            return int((await session.execute(select(func.count()).select_from(AlertRecord))).scalar_one())
    finally:
        await db.close()


async def _throughput(options: Any) -> dict[str, list[float]]:
    seconds = 3.0 if options.quick else 8.0
    names = ("flat", "flat_p99", "flat_cpu", "open", "open_p99", "open_server_p99", "open_cpu", "batch")
    names += ("batch_cpu", "batch_both", "errors")
    out: dict[str, list[float]] = {k: [] for k in names}
    for _ in range(options.repeat):
        fake = await FakeSlack().start()
        try:
            async with _server(options, fake) as (server, db_url):
                url = server.url + "/webhooks/alertmanager"
                pid = server.process.pid
                warm = await _closed_loop(url, workers=16, seconds=1.0, per_payload=1, groups=20)
                cpu = _cpu_s(pid)
                flat = await _closed_loop(url, workers=64, seconds=seconds, per_payload=1, groups=20)
                flat["cpu"] = _cpu_s(pid) - cpu
                before = await _server_latency(server.url)
                cpu = _cpu_s(pid)
                offered = await _open_loop(url, rate=1000.0, seconds=seconds, groups=20)
                offered["cpu"] = _cpu_s(pid) - cpu
                offered["server_p99"] = _p99_bound(before, await _server_latency(server.url))
                cpu = _cpu_s(pid)
                batch = await _closed_loop(url, workers=8, seconds=seconds, per_payload=100, groups=20)
                batch["cpu"] = _cpu_s(pid) - cpu
                # The same with the server free to use every CPU (its SQLite thread, or PostgreSQL,
                # then runs beside its event loop), still sharing them with this load generator.
                _pin(pid, None)
                both = await _closed_loop(url, workers=8, seconds=seconds, per_payload=100, groups=20)
                _pin(pid, 0)
                stored = await _count_alerts(db_url)
        finally:
            await fake.stop()
        acknowledged = sum(r["ok_alerts"] for r in (warm, flat, offered, batch, both))
        out["flat"].append(flat["per_s"])
        out["flat_p99"].append(flat["p99"])
        out["open"].append(offered["achieved"])
        out["open_p99"].append(offered["p99"])
        out["open_server_p99"].append(offered["server_p99"])
        out["batch"].append(batch["alerts_per_s"])
        out["batch_both"].append(both["alerts_per_s"])
        # Server CPU (user + system) per alert answered 200, in microseconds.
        out["flat_cpu"].append(flat["cpu"] * 1e6 / max(flat["ok_alerts"], 1))
        out["open_cpu"].append(offered["cpu"] * 1e6 / max(offered["ok_alerts"], 1))
        out["batch_cpu"].append(batch["cpu"] * 1e6 / max(batch["ok_alerts"], 1))
        # An alert answered 200 but not stored would be a lost alert: count it as an error.
        out["errors"].append(
            flat["errors"]
            + offered["errors"]
            + batch["errors"]
            + both["errors"]
            + max(acknowledged - stored, 0)
        )
    return out


async def _storm(options: Any) -> dict[str, float]:
    """`total` alerts over `seconds` across 20 groups, single-alert webhooks, paced like a real storm."""
    total, seconds = (2000, 12.0) if options.quick else (10000, 60.0)
    fake = await FakeSlack(rate_limit_per_channel=1.0, burst=3).start()
    peak_rss = 0.0
    try:
        async with _server(options, fake) as (server, db_url):
            url = server.url + "/webhooks/alertmanager"
            stop = asyncio.Event()

            async def sample() -> None:
                nonlocal peak_rss
                while not stop.is_set():
                    peak_rss = max(peak_rss, server.rss_mb())
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), timeout=0.25)

            sampler = asyncio.create_task(sample())
            before = await _server_latency(server.url)
            result = await _open_loop(url, rate=total / seconds, seconds=seconds, groups=20)
            result["server_p99"] = _p99_bound(before, await _server_latency(server.url))
            stored = await _count_alerts(db_url)
            # Let the last coalesced updates go out (one window plus delivery).
            await asyncio.sleep(12.0)
            stop.set()
            await sampler
    finally:
        await fake.stop()
    posts = fake.ok_calls("chat.postMessage")
    updates = fake.ok_calls("chat.update")
    min_gap = float("inf")
    for post in posts:
        ts = post.response.get("ts")
        times = [post.at] + [u.at for u in updates if u.params.get("ts") == ts]
        min_gap = min([min_gap] + [b - a for a, b in itertools.pairwise(sorted(times))])
    final_counts = [
        m for m in fake.posted() if f"*{total // 20} firing*" in json.dumps(m.blocks, ensure_ascii=False)
    ]
    return {
        "sent": float(total),
        "stored": float(stored),
        "errors": result["errors"],
        "p99": result["p99"],
        "server_p99": result["server_p99"],
        "posts": float(len(posts)),
        "updates": float(len(updates)),
        "min_gap": min_gap if min_gap != float("inf") else 0.0,
        "peak_rss": peak_rss,
        "final_messages": float(len(final_counts)),
    }


async def run(options: Any) -> list[Figure]:
    """Measure the alert intake figures."""
    _pin(0, 1)
    db = "PostgreSQL" if options.database_url else "SQLite"
    t = await _throughput(options)
    errors = sum(t["errors"])
    note = f"{db}; errors or lost alerts: {errors:.0f}"
    figures = [
        Figure(
            NAME,
            f"single-alert AM webhooks/s, flat out, 64 concurrent ({db})",
            median(t["flat"]),
            "req/s",
            ">= 1,000/s",
            median(t["flat"]) >= 1000 and errors == 0,
            t["flat"],
            note,
        ),
        Figure(
            NAME,
            f"single-alert AM webhooks offered at 1,000/s: achieved ({db})",
            median(t["open"]),
            "req/s",
            ">= 1,000/s sustained",
            median(t["open"]) >= 950 and errors == 0,
            t["open"],
            note,
        ),
        Figure(
            NAME,
            f"single-alert AM webhooks offered at 1,000/s: p99 at the client ({db})",
            median(t["open_p99"]),
            "ms",
            "<= 100 ms",
            median(t["open_p99"]) <= 100,
            t["open_p99"],
            note,
        ),
        Figure(
            NAME,
            f"single-alert AM webhooks offered at 1,000/s: p99 in the server, bucket bound ({db})",
            median(t["open_server_p99"]),
            "ms",
            "<= 100 ms",
            median(t["open_server_p99"]) <= 100,
            t["open_server_p99"],
            note + "; from the server's http_request_duration_seconds histogram",
        ),
        Figure(
            NAME,
            f"alerts/s in 100-alert payloads, 8 concurrent, server on one core ({db})",
            median(t["batch"]),
            "alerts/s",
            ">= 10,000/s",
            median(t["batch"]) >= 10000 and errors == 0,
            t["batch"],
            note,
        ),
        Figure(
            NAME,
            f"alerts/s in 100-alert payloads, 8 concurrent, server on both cores ({db})",
            median(t["batch_both"]),
            "alerts/s",
            ">= 10,000/s",
            median(t["batch_both"]) >= 10000 and errors == 0,
            t["batch_both"],
            note + "; the load generator shares the same two cores",
        ),
    ]
    figures += [
        Figure(NAME, f"server CPU per alert, {what} ({db})", median(t[key]), "µs", "", None, t[key], note)
        for key, what in (
            ("flat_cpu", "single-alert webhooks flat out"),
            ("open_cpu", "single-alert webhooks offered at 1,000/s"),
            ("batch_cpu", "100-alert payloads"),
        )
    ]
    storm = await _storm(options)
    lost = storm["sent"] - storm["stored"]
    size = f"{storm['sent']:,.0f} alerts in {'12' if options.quick else '60'} s, 20 groups"
    storm_note = (
        f"{db}; {storm['updates']:.0f} chat.update in all, shortest gap between writes to one message "
        f"{storm['min_gap']:.1f} s; {storm['final_messages']:.0f}/20 messages show their final count; "
        f"webhook p99 {storm['p99']:.0f} ms at the client, <= {storm['server_p99']:.0f} ms in the server; "
        f"errors {storm['errors']:.0f}"
    )
    figures += [
        Figure(NAME, f"storm {size}: alerts lost", lost, "alerts", "0", lost == 0, [lost], storm_note),
        Figure(
            NAME,
            f"storm {size}: chat.postMessage",
            storm["posts"],
            "calls",
            "<= 20",
            storm["posts"] <= 20,
            [storm["posts"]],
            storm_note,
        ),
        Figure(
            NAME,
            f"storm {size}: shortest gap between writes to one message",
            storm["min_gap"],
            "s",
            ">= 10 s",
            storm["min_gap"] >= 10.0,
            [storm["min_gap"]],
            storm_note,
        ),
        Figure(
            NAME,
            f"storm {size}: peak server RSS",
            storm["peak_rss"],
            "MB",
            "<= 256 MB",
            storm["peak_rss"] <= 256,
            [storm["peak_rss"]],
            storm_note,
        ),
    ]
    return figures
