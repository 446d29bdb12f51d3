"""Console figures: the three big pages (target < 300 ms each), server side and in Chromium.

A real `flare serve` process (SQLite by default, PostgreSQL with --database-url) with the console on,
signed in through the fake Slack's OIDC endpoints. The database holds 10,000 incidents (a year of
history), an incident with a 10,000-event timeline, and 5,000 deploys in the last four weeks. Each page
is fetched `repeat` times (after one warm-up) over loopback HTTP: p50 and p99 of the full response time.
Then Debian's Chromium (Playwright) loads each page the same number of times: p50 and p99 of the
navigation's domContentLoadedEventEnd (request sent to DOM ready, charts and tables included).
"""

from __future__ import annotations

import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from playwright.async_api import async_playwright

from bench.common import (
    FakeSlack,
    Figure,
    free_port,
    median,
    percentile,
    scratch_database,
    server_env,
    start_server,
)
from bot.db.engine import Database
from tests.console import seed
from tests.console.conftest import SESSION_SECRET, Browser, sign_in
from tests.fakes.slack_oidc import CLIENT_ID, CLIENT_SECRET
from tests.support.chromium import ARGS, EXECUTABLE

NAME = "console"
TARGET_MS = 300.0
INCIDENTS = 10_000
EVENTS = 10_000
DEPLOYS = 5_000
PAGES = {
    "incident list over 10,000 incidents": "/ui/incidents",
    "incident with a 10,000-event timeline": "/ui/incidents/INC-1",
    "delivery charts over 5,000 deploys (4 weeks)": "/ui/delivery",
}


async def _seed(url: str, now: datetime) -> None:
    db = Database(url, pool_size=1)
    try:
        async with db.transaction() as session:
            await seed.incidents(session, INCIDENTS, now - timedelta(hours=1), span=timedelta(days=365))
            await seed.timeline(session, 1, EVENTS, now - timedelta(days=365))
            await seed.deploys(session, DEPLOYS * 4 // 5, now, span=timedelta(days=28))
            await seed.deploys(session, DEPLOYS // 5, now, span=timedelta(days=28), service="search")
            for n in range(40):
                await seed.rollback(session, n, now - timedelta(hours=13 * n + 1))
    finally:
        await db.close()


async def _server_side(base: str, repeat: int) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        browser = Browser(http, base)
        status, body, _ = await sign_in(browser, "U0ALICE01")
        assert status == 302, body[:300]
        for what, path in PAGES.items():
            times = []
            for i in range(repeat + 1):
                started = time.perf_counter()
                async with http.get(base + path, allow_redirects=False) as response:
                    text = await response.text()
                elapsed = (time.perf_counter() - started) * 1000
                assert response.status == 200, text[:500]
                if i:
                    times.append(elapsed)
            out[what] = times
    return out


async def _chromium(base: str, repeat: int) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=EXECUTABLE, args=ARGS)
        page = await browser.new_page()
        await page.goto(base + "/ui/incidents")
        await page.get_by_role("button", name="Continue as Alice Admin").click()
        await page.wait_for_url(base + "/ui/incidents")
        for what, path in PAGES.items():
            times = []
            for i in range(repeat + 1):
                await page.goto(base + path, wait_until="domcontentloaded")
                ready = await page.evaluate(
                    "performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd"
                )
                if i:
                    times.append(float(ready))
            out[what] = times
        await browser.close()
    return out


def _figures(kind: str, db: str, results: dict[str, list[float]]) -> list[Figure]:
    figures = []
    for what, values in results.items():
        p50, p99 = median(values), percentile(values, 99)
        note = f"p99 {p99:,.0f} ms over {len(values)} loads"
        figures.append(
            Figure(
                NAME,
                f"{what}, {kind} p50 ({db})",
                p50,
                "ms",
                f"< {TARGET_MS:.0f} ms",
                p50 < TARGET_MS,
                values,
                note,
            )
        )
        figures.append(Figure(NAME, f"{what}, {kind} p99 ({db})", p99, "ms", "reported", None, values))
    return figures


async def run(options: Any) -> list[Figure]:
    """Measure the console's three big pages on a real server, over HTTP and in Chromium."""
    db = "PostgreSQL" if options.database_url else "SQLite"
    repeat = max(options.repeat, 20)
    fake = await FakeSlack().start()
    fake.oidc.add_person("U0ALICE01", "Alice Admin")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            async with scratch_database(options.database_url, Path(tmp)) as url:
                await _seed(url, datetime.now(UTC))
                port = free_port()
                env = server_env(
                    fake,
                    url,
                    SLACK_CLIENT_ID=CLIENT_ID,
                    SLACK_CLIENT_SECRET=CLIENT_SECRET,
                    FLARE_PUBLIC_URL=f"http://127.0.0.1:{port}",
                    FLARE_SESSION_SECRET=SESSION_SECRET,
                )
                server = await start_server(env, Path(tmp), port=port)
                try:
                    served = await _server_side(server.url, repeat)
                    loaded = await _chromium(server.url, max(repeat // 2, 10))
                finally:
                    server.terminate()
    finally:
        await fake.stop()
    return _figures("server (HTTP response)", db, served) + _figures("Chromium domcontentloaded", db, loaded)
