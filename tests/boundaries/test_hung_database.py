"""A database that stops answering (failover, partition): every caller gets an answer inside its budget.

PostgreSQL only: the hang is made at the network level by a loopback proxy between Flare and the server
that stops forwarding without closing anything. Nothing is committed twice, and Flare recovers on its own.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable
from typing import Any, TypeVar

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from bot.alerts.models import AlertRecord
from bot.db.engine import Database
from bot.incidents.models import Incident, IncidentEvent
from handlers.slack_late import NOTHING_CHANGED
from tests.alerts.conftest import am_alert, am_payload
from tests.boundaries.conftest import webhook_request
from tests.conftest import Flare, StartFlare, pg_url
from tests.fakes.slack import FakeSlack
from tests.incidents.helpers import card, incident_channel
from tests.incidents.test_capture import pin_event
from tests.support.tcp_proxy import PausableProxy
from tests.support.waits import settle

pytestmark = pytest.mark.skipif(pg_url() is None, reason="PostgreSQL lane only (TEST_DATABASE_URL)")

T = TypeVar("T")
# Deadlines well inside the real budgets, so the budgets hold on a loaded machine.
SLACK_DEADLINE, WEBHOOK_DEADLINE, READY_TIMEOUT = 1.0, 1.2, 0.4
SLACK_BUDGET, WEBHOOK_BUDGET, READY_BUDGET = 2.5, 3.0, 1.0


@pytest.fixture
async def proxy(database_url: str) -> AsyncIterator[PausableProxy]:
    """A proxy in front of the test database's server."""
    url = make_url(database_url)
    started = await PausableProxy(url.host or "127.0.0.1", url.port or 5432).start()
    yield started
    await started.stop()


@pytest.fixture
async def direct(database_url: str) -> AsyncIterator[Database]:
    """The test database, reached without the proxy (to look at what was committed)."""
    db = Database(database_url, pool_size=1)
    yield db
    await db.close()


async def timed(work: Awaitable[T]) -> tuple[float, T]:
    """(seconds taken, result)."""
    started = time.perf_counter()
    result = await work
    return time.perf_counter() - started, result


async def count(db: Database, stmt: Any) -> int:
    """A scalar count."""
    async with db.sessions() as session:
        return int((await session.execute(stmt)).scalar_one())


async def test_hung_database_answers_every_caller_within_its_deadline_and_recovers(
    start_flare: StartFlare,
    make_settings: Any,
    full_catalog: Any,
    all_env: dict[str, str],
    fake_slack: FakeSlack,
    proxy: PausableProxy,
    direct: Database,
    database_url: str,
) -> None:
    proxied = make_url(database_url).set(host="127.0.0.1", port=proxy.port)
    flare: Flare = await start_flare(
        make_settings(
            database_url=proxied.render_as_string(hide_password=False),
            flare_slack_deadline_seconds=SLACK_DEADLINE,
            flare_webhook_deadline_seconds=WEBHOOK_DEADLINE,
            flare_ready_timeout_seconds=READY_TIMEOUT,
        ),
        catalog_=full_catalog,
    )
    declared = await flare.slack.command("/incident", "declare P1 checkout is failing --service checkout")
    assert "INC-1" in declared.json()["text"]
    await settle(flare)
    channel = incident_channel(fake_slack, 1)
    card_ts = card(fake_slack, channel).ts
    message = fake_slack.add_message(channel.id, "DB CPU at 100% since 14:02", user="U0CAROL01")
    event = pin_event(channel, message)
    alert_body = json.dumps(am_payload(am_alert("HungDbAlert", service="checkout"))).encode()
    url, headers = webhook_request("alertmanager", alert_body)
    headers = {**headers, "Content-Type": "application/json"}

    proxy.pause()
    (cmd_s, cmd), (act_s, act), (evt_s, evt), (hook_s, hook), (ready_s, ready) = await asyncio.gather(
        timed(flare.slack.command("/incident", "declare P2 search is slow --service search")),
        timed(
            flare.slack.block_action(
                "incident_ack", "1", user="U0BOB0001", channel=channel.id, message_ts=card_ts
            )
        ),
        timed(flare.slack.event(event, event_id="Ev0HUNG0001")),
        timed(flare.post(url, data=alert_body, headers=headers)),
        timed(flare.get("/health/ready")),
    )
    timings = {"command": cmd_s, "interaction": act_s, "event": evt_s, "webhook": hook_s, "ready": ready_s}
    assert max(cmd_s, act_s, evt_s) < SLACK_BUDGET, timings
    assert hook_s < WEBHOOK_BUDGET, timings
    assert ready_s < READY_BUDGET, timings
    assert (cmd.status, cmd.json()["text"], cmd.json()["response_type"]) == (
        200,
        NOTHING_CHANGED,
        "ephemeral",
    )
    assert act.status == 200
    assert evt.status == 503, "Slack retries the event later"
    assert hook[0] == 503, hook
    assert ready[0] == 503, ready
    # The block action's user is told through its response_url (the database cannot queue a message).
    await fake_slack.wait_for(
        lambda: any(r.get("text") == NOTHING_CHANGED for r in fake_slack.responses), 5.0
    )

    proxy.resume()
    for _ in range(100):
        status, _body = await flare.get("/health/ready")
        if status == 200:
            break
        await asyncio.sleep(0.1)
    assert status == 200, "Flare recovers without a restart"

    # Retried by the user and by the senders: each processed once.
    again = await flare.slack.command("/incident", "declare P2 search is slow --service search")
    assert "INC-2" in again.json()["text"], again.text
    assert (await flare.slack.event(event, event_id="Ev0HUNG0001", retry_num=1)).status == 200
    status, answer = await flare.post(url, data=alert_body, headers=headers)
    assert status == 200, answer
    retried_ack = await flare.slack.block_action(
        "incident_ack", "1", user="U0BOB0001", channel=channel.id, message_ts=card_ts
    )
    assert retried_ack.status == 200
    await settle(flare)

    assert await count(direct, select(func.count()).select_from(Incident)) == 2
    assert await count(direct, select(func.count()).where(Incident.title == "search is slow")) == 1
    pinned = select(func.count()).select_from(IncidentEvent).where(IncidentEvent.kind == "pinned")
    assert await count(direct, pinned) == 1
    alerts = select(func.count()).select_from(AlertRecord)
    assert await count(direct, alerts) == 1
    async with direct.sessions() as session:
        first = await session.get(Incident, 1)
    assert first is not None
    assert first.status == "acknowledged"
