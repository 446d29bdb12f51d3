"""Incident figures: `/incident declare` ack latency, and declare-to-card-posted latency through the outbox.

Measured against a real `flare serve` process talking to the fake Slack, on SQLite (default) or on
PostgreSQL (`--database-url`, a scratch database is created next to it and dropped afterwards).
"""

from __future__ import annotations

import asyncio
import re
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
    scratch_database,
    server_env,
    start_server,
)

NAME = "incidents"
ACK_TARGET_MS = 50.0
_HUMAN_ID = re.compile(r"INC-(\d+)")


def _card_posted_at(fake: FakeSlack, incident_id: int) -> float | None:
    prefix = f"INC-{incident_id} ·"
    for call in reversed(fake.ok_calls("chat.postMessage")):
        if str(call.params.get("text", "")).startswith(prefix):
            return call.at
    return None


async def _declare(client: SlackClient, i: int, tag: str) -> tuple[float, int]:
    started = time.perf_counter()
    reply = await client.command("/incident", f"declare P2 {tag} incident number {i} --service checkout")
    ack_ms = (time.perf_counter() - started) * 1000
    found = _HUMAN_ID.search(reply.text) if reply.status == 200 else None
    if found is None:
        raise RuntimeError(f"declare failed: {reply.status} {reply.text[:200]}")
    return ack_ms, int(found.group(1))


async def _run(
    database_url: str | None, sequential: int, spaced_count: int, workers: int, per_worker: int
) -> dict[str, list[float]]:
    fake = await FakeSlack().start()
    with tempfile.TemporaryDirectory() as tmp:
        async with scratch_database(database_url, Path(tmp)) as url:
            server = await start_server(server_env(fake, url), Path(tmp))
            try:
                async with aiohttp.ClientSession() as session:
                    client = SlackClient(server.url, session, response_url=fake.response_url)
                    for i in range(5):  # warm up code paths and connections
                        await _declare(client, i, "warm-up")
                    acks: list[float] = []
                    to_card: list[float] = []
                    for i in range(sequential):
                        sent = time.monotonic()
                        ack_ms, incident_id = await _declare(client, i, "sequential")
                        acks.append(ack_ms)
                        await fake.wait_for(lambda n=incident_id: _card_posted_at(fake, n) is not None, 30)
                        posted = _card_posted_at(fake, incident_id)
                        assert posted is not None
                        to_card.append((posted - sent) * 1000)

                    spaced: list[float] = []
                    for i in range(spaced_count):  # one declare at a time on an otherwise quiet server
                        await asyncio.sleep(0.5)
                        ack_ms, _ = await _declare(client, i, "spaced")
                        spaced.append(ack_ms)

                    concurrent: list[float] = []

                    async def worker(w: int) -> None:
                        for i in range(per_worker):
                            ack_ms, _ = await _declare(client, w * 1000 + i, "concurrent")
                            concurrent.append(ack_ms)

                    await asyncio.gather(*(worker(w) for w in range(workers)))
            finally:
                server.terminate()
                await fake.stop()
    return {"ack": acks, "card": to_card, "spaced": spaced, "concurrent": concurrent}


async def run(options: Any) -> list[Figure]:
    """Measure the incident figures `options.repeat` times and report medians of each run's statistic."""
    sequential = 30 if options.quick else 100
    workers, per_worker = (5, 6) if options.quick else (10, 20)
    db = "PostgreSQL" if options.database_url else "SQLite"
    spaced = 10 if options.quick else 30
    runs = [
        await _run(options.database_url, sequential, spaced, workers, per_worker)
        for _ in range(options.repeat)
    ]

    def stat(key: str, pct: float) -> tuple[float, list[float]]:
        values = [percentile(r[key], pct) for r in runs]
        return median(values), values

    figures = []
    for pct, label in ((50, "median"), (99, "p99")):
        value, values = stat("card", pct)
        figures.append(
            Figure(
                NAME,
                f"declare -> card posted at Slack, {label} ({db}, {sequential} sequential)",
                value,
                "ms",
                "reported",
                None,
                values,
            )
        )
    for pct in (50, 99):
        value, values = stat("ack", pct)
        figures.append(
            Figure(
                NAME,
                f"/incident declare ack p{pct} ({db}, sequential, back to back)",
                value,
                "ms",
                f"<= {ACK_TARGET_MS:.0f} ms" if pct == 99 else "",
                value <= ACK_TARGET_MS if pct == 99 else None,
                values,
            )
        )
    for pct in (50, 99):
        value, values = stat("spaced", pct)
        figures.append(
            Figure(
                NAME,
                f"/incident declare ack p{pct} ({db}, one every 0.5 s)",
                value,
                "ms",
                f"<= {ACK_TARGET_MS:.0f} ms" if pct == 99 else "",
                value <= ACK_TARGET_MS if pct == 99 else None,
                values,
                f"{spaced} declares per run",
            )
        )
    for pct in (50, 99):
        value, values = stat("concurrent", pct)
        figures.append(
            Figure(
                NAME,
                f"/incident declare ack p{pct} ({db}, {workers} concurrent)",
                value,
                "ms",
                f"<= {ACK_TARGET_MS:.0f} ms" if pct == 99 else "",
                value <= ACK_TARGET_MS if pct == 99 else None,
                values,
                f"{workers * per_worker} declares per run",
            )
        )
    return figures
