"""Paging figures: declare -> trigger accepted at the fake PagerDuty, and the declare ack with paging on.

A real `flare serve` process with the paging test catalog talks to the fake Slack and the fake
PagerDuty (both loopback). The declare ack is measured three ways on the same server, interleaved:
P2 (nothing to page), P0 (pages the owning team), and P0 while PagerDuty hangs on every request.
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
from tests.fakes.pagerduty import FakePagerDuty
from tests.paging.conftest import CATALOG, DATABASES_KEY, ENV, PAYMENTS_KEY

NAME = "paging"
ACK_TARGET_MS = 50.0
_HUMAN_ID = re.compile(r"INC-(\d+)")


async def _declare(client: SlackClient, severity: str, i: int) -> tuple[float, int]:
    started = time.perf_counter()
    reply = await client.command(
        "/incident", f"declare {severity} bench incident number {i} --service checkout", user="U0ALICE01"
    )
    ack_ms = (time.perf_counter() - started) * 1000
    found = _HUMAN_ID.search(reply.text) if reply.status == 200 else None
    if found is None:
        raise RuntimeError(f"declare failed: {reply.status} {reply.text[:200]}")
    return ack_ms, int(found.group(1))


async def _run(database_url: str | None, count: int) -> dict[str, list[float]]:
    slack = await FakeSlack().start()
    pd = FakePagerDuty()
    pd.add_key(PAYMENTS_KEY)
    pd.add_key(DATABASES_KEY)
    await pd.start()
    result: dict[str, list[float]] = {"trigger": [], "ack_p2": [], "ack_p0": [], "ack_p0_hang": []}
    with tempfile.TemporaryDirectory() as tmp:
        async with scratch_database(database_url, Path(tmp)) as url:
            env = server_env(
                slack,
                url,
                FLARE_CONFIG=str(CATALOG),
                PAGERDUTY_EVENTS_URL=pd.url,
                PAGERDUTY_API_URL=pd.url,
                **ENV,
            )
            server = await start_server(env, Path(tmp))
            try:
                async with aiohttp.ClientSession() as session:
                    client = SlackClient(server.url, session, response_url=slack.response_url)
                    for i in range(5):  # warm up code paths and connections
                        await _declare(client, "P0", i)
                    for i in range(count):
                        # declare -> trigger accepted, one at a time
                        sent = time.monotonic()
                        ack_ms, number = await _declare(client, "P0", i)
                        key = f"flare-INC-{number}"
                        await pd.wait_for(lambda k=key: bool(pd.triggers(k)), 30)
                        result["trigger"].append((pd.triggers(key)[0].at - sent) * 1000)
                        result["ack_p0"].append(ack_ms)
                        await asyncio.sleep(0.2)
                        result["ack_p2"].append((await _declare(client, "P2", i))[0])
                        await asyncio.sleep(0.2)
                    pd.hang = True  # every PagerDuty request now hangs until its timeout
                    for i in range(count):
                        result["ack_p0_hang"].append((await _declare(client, "P0", i))[0])
                        await asyncio.sleep(0.2)
            finally:
                server.terminate()
                await pd.stop()
                await slack.stop()
    return result


async def run(options: Any) -> list[Figure]:
    """Measure the paging figures `options.repeat` times; medians of each run's statistic."""
    count = 20 if options.quick else 60
    db = "PostgreSQL" if options.database_url else "SQLite"
    runs = [await _run(options.database_url, count) for _ in range(options.repeat)]

    def stat(key: str, pct: float) -> tuple[float, list[float]]:
        values = [percentile(r[key], pct) for r in runs]
        return median(values), values

    figures = []
    for pct, label in ((50, "median"), (99, "p99")):
        value, values = stat("trigger", pct)
        figures.append(
            Figure(
                NAME,
                f"declare P0 -> trigger accepted at PagerDuty, {label} ({db})",
                value,
                "ms",
                "reported",
                None,
                values,
                f"{count} sequential declares per run",
            )
        )
    for key, what in (
        ("ack_p2", "P2, nothing paged"),
        ("ack_p0", "P0, pages the owning team"),
        ("ack_p0_hang", "P0 while PagerDuty hangs"),
    ):
        for pct in (50, 99):
            value, values = stat(key, pct)
            figures.append(
                Figure(
                    NAME,
                    f"/incident declare ack p{pct} ({db}, {what})",
                    value,
                    "ms",
                    f"<= {ACK_TARGET_MS:.0f} ms" if pct == 99 else "",
                    value <= ACK_TARGET_MS if pct == 99 else None,
                    values,
                    "one every 0.2 s",
                )
            )
    return figures
