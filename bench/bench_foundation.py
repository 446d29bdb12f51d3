"""Foundation figures: cold start to ready, slash-command ack latency, outbox drain, idle RSS.

Every figure is measured against a real `flare serve` process on SQLite, talking to the fake Slack.
"""

from __future__ import annotations

import asyncio
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
from bot.db.engine import Database
from bot.slack.outbox import enqueue, post_message

NAME = "foundation"


async def _cold_start() -> tuple[float, float, float]:
    """Seconds from exec to /health/ready == 200 on a brand-new SQLite file, then again on the now
    migrated one (the usual case: Cloud Run starts an instance on a current schema); idle RSS after 3 s."""
    fake = await FakeSlack().start()
    with tempfile.TemporaryDirectory() as tmp:
        server = await start_server(server_env(fake, sqlite_url(Path(tmp))), Path(tmp))
        fresh = server.ready_after_s
        server.terminate()
        server = await start_server(server_env(fake, sqlite_url(Path(tmp))), Path(tmp))
        try:
            await asyncio.sleep(3)
            return fresh, server.ready_after_s, server.rss_mb()
        finally:
            server.terminate()
            await fake.stop()


async def _ack_latency(concurrency: int, per_worker: int, rate: float | None) -> dict[str, float]:
    """Signed /incident help from `concurrency` workers; `rate` caps total requests/s (None: flat out)."""
    fake = await FakeSlack().start()
    with tempfile.TemporaryDirectory() as tmp:
        server = await start_server(server_env(fake, sqlite_url(Path(tmp))), Path(tmp))
        latencies: list[float] = []
        errors = 0
        connector = aiohttp.TCPConnector(limit=concurrency)
        try:
            async with aiohttp.ClientSession(connector=connector) as session:
                client = SlackClient(server.url, session)
                for _ in range(50):  # warm up connections and code paths
                    await client.command("/incident", "help")
                interval = concurrency / rate if rate else 0.0

                async def worker(offset: float) -> None:
                    nonlocal errors
                    await asyncio.sleep(offset)
                    next_at = time.perf_counter()
                    for _ in range(per_worker):
                        started = time.perf_counter()
                        reply = await client.command("/incident", "help")
                        latencies.append((time.perf_counter() - started) * 1000)
                        if reply.status != 200:
                            errors += 1
                        if interval:
                            next_at += interval
                            await asyncio.sleep(max(0.0, next_at - time.perf_counter()))

                started = time.perf_counter()
                await asyncio.gather(*(worker(i * interval / concurrency) for i in range(concurrency)))
                elapsed = time.perf_counter() - started
        finally:
            server.terminate()
            await fake.stop()
    return {
        "p50": percentile(latencies, 50),
        "p99": percentile(latencies, 99),
        "rps": len(latencies) / elapsed,
        "errors": float(errors),
    }


async def _drain(messages: int, channels: int) -> dict[str, Any]:
    """Queue `messages` across `channels` and time their delivery through a rate-limiting fake Slack."""
    fake = await FakeSlack(rate_limit_per_channel=1.0, burst=3).start()
    with tempfile.TemporaryDirectory() as tmp:
        url = sqlite_url(Path(tmp))
        server = await start_server(server_env(fake, url), Path(tmp))
        db = Database(url)
        try:
            started = time.perf_counter()
            async with db.transaction() as session:
                for i in range(messages):
                    await enqueue(session, post_message(f"C0DRAIN{i % channels:03d}", text=f"m{i}"))
            await fake.wait_for(lambda: len(fake.ok_calls("chat.postMessage")) >= messages, timeout=600)
            elapsed = time.perf_counter() - started
            await asyncio.sleep(2)  # anything sent twice would show up now
        finally:
            await db.close()
            server.terminate()
            await fake.stop()
    texts = [m.text for m in fake.posted()]
    return {
        "seconds": elapsed,
        "lost": messages - len(set(texts)),
        "duplicated": len(texts) - len(set(texts)),
        "rate_limited": fake.rate_limited,
        "ideal_seconds": (messages / channels - 3) / 1.0,
    }


async def run(options: Any) -> list[Figure]:
    """Measure every foundation figure `options.repeat` times and report medians."""
    figures: list[Figure] = []
    fresh_starts, starts, rss = [], [], []
    for _ in range(max(options.repeat, 5)):  # the cold-start target is a median of 5
        fresh, ready, resident = await _cold_start()
        fresh_starts.append(fresh)
        starts.append(ready)
        rss.append(resident)
    figures.append(
        Figure(
            NAME,
            "start to /health/ready (cold process, migrated SQLite db)",
            median(starts),
            "s",
            "<= 1.0 s",
            median(starts) <= 1.0,
            starts,
        )
    )
    figures.append(
        Figure(
            NAME,
            "start to /health/ready (cold process, new SQLite db, migrations included)",
            median(fresh_starts),
            "s",
            "",
            None,
            fresh_starts,
        )
    )
    figures.append(
        Figure(NAME, "idle RSS after start", median(rss), "MB", "<= 120 MB", median(rss) <= 120, rss)
    )

    per_worker = 20 if options.quick else 100
    for label, rate in (("open loop, 200 req/s offered", 200.0), ("closed loop, flat out", None)):
        runs = [await _ack_latency(50, per_worker, rate) for _ in range(options.repeat)]
        p50 = median([r["p50"] for r in runs])
        p99 = median([r["p99"] for r in runs])
        rps = median([r["rps"] for r in runs])
        errors = sum(r["errors"] for r in runs)
        figures.append(
            Figure(
                NAME,
                f"/incident help ack p50, 50 concurrent, {label}",
                p50,
                "ms",
                "<= 10 ms",
                p50 <= 10,
                [r["p50"] for r in runs],
                f"{rps:.0f} req/s, {errors:.0f} errors",
            )
        )
        figures.append(
            Figure(
                NAME,
                f"/incident help ack p99, 50 concurrent, {label}",
                p99,
                "ms",
                "<= 50 ms",
                p99 <= 50,
                [r["p99"] for r in runs],
                f"{rps:.0f} req/s",
            )
        )

    messages = 200 if options.quick else 1000
    drain = await _drain(messages, 50)
    figures.append(
        Figure(
            NAME,
            f"{messages} queued messages over 50 channels: lost + duplicated",
            float(drain["lost"] + drain["duplicated"]),
            "",
            "0",
            drain["lost"] + drain["duplicated"] == 0,
            note=f"rate-limited by fake: {drain['rate_limited']}",
        )
    )
    figures.append(
        Figure(
            NAME,
            f"{messages} queued messages drained at 1 msg/s/channel",
            drain["seconds"],
            "s",
            f"~{drain['ideal_seconds']:.0f} s at the pacing",
            None,
        )
    )
    return figures
