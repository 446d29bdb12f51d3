"""SQLite's version of a hung database: another process holds the write lock. Slack still gets its answer.

SQLite only (the PostgreSQL lane has the network-level test in test_hung_database.py).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from bot.alerts.models import AlertRecord
from bot.incidents.models import Incident
from handlers.slack_late import NOTHING_CHANGED
from tests.alerts.conftest import am_alert, am_payload
from tests.boundaries.conftest import webhook_request
from tests.conftest import Flare, StartFlare, pg_url

# The PostgreSQL lane runs the twin of this test, tests/boundaries/test_hung_database.py.
pytestmark = pytest.mark.skipif(pg_url() is not None, reason="SQLite lane only (TEST_DATABASE_URL unset)")

SLACK_BUDGET, WEBHOOK_BUDGET = 2.5, 3.0


async def test_write_lock_held_elsewhere_gets_a_polite_answer_in_time_and_nothing_twice(
    start_flare: StartFlare, make_settings: Any, full_catalog: Any, all_env: dict[str, str], database_url: str
) -> None:
    flare: Flare = await start_flare(
        make_settings(
            flare_slack_deadline_seconds=1.0,
            flare_webhook_deadline_seconds=1.2,
            flare_sqlite_busy_timeout_seconds=4.0,
        ),
        catalog_=full_catalog,
    )
    assert (await flare.slack.command("/incident", "help")).status == 200
    path = make_url(database_url).database
    assert path is not None
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # as `flare migrate` or a backup tool would
    body = json.dumps(am_payload(am_alert("LockedAlert", service="checkout"))).encode()
    url, headers = webhook_request("alertmanager", body)
    headers = {**headers, "Content-Type": "application/json"}
    try:
        started = time.perf_counter()
        command, (hook_status, _hook) = await asyncio.gather(
            flare.slack.command("/incident", "declare P2 search is slow --service search"),
            flare.post(url, data=body, headers=headers),
        )
        took = time.perf_counter() - started
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert took < WEBHOOK_BUDGET
    assert (command.status, command.json()["text"]) == (200, NOTHING_CHANGED)
    assert hook_status == 503

    for _ in range(100):  # the abandoned work unwinds; the retries then go through
        again = await flare.slack.command("/incident", "declare P2 search is slow --service search")
        if "INC-" in again.json()["text"]:
            break
        await asyncio.sleep(0.1)
    assert "INC-1" in again.json()["text"], again.text
    assert (await flare.post(url, data=body, headers=headers))[0] == 200
    async with flare.container.db.sessions() as session:
        incidents = (await session.execute(select(func.count()).select_from(Incident))).scalar_one()
        alerts = (await session.execute(select(func.count()).select_from(AlertRecord))).scalar_one()
    assert (incidents, alerts) == (1, 1)
