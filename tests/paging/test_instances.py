"""Pages survive kill -9 and are sent once by several instances sharing the database."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest

from tests.fakes.pagerduty import FakePagerDuty
from tests.fakes.slack import FakeSlack
from tests.paging.conftest import CATALOG, ENV, StartPaging, pages
from tests.support.process import server_env, start_server
from tests.support.slack_client import SlackClient
from tests.support.waits import eventually


async def test_two_instances_send_one_trigger_per_page(
    start_paging: StartPaging, fake_pd: FakePagerDuty
) -> None:
    a, b = await start_paging(), await start_paging()
    fake_pd.fail(500, times=3)  # a few retries, so both workers see the events pending
    replies = await asyncio.gather(
        *(
            (a if i % 2 else b).slack.command(
                "/incident", f"declare P0 checkout failure {i} --service checkout", user="U0ALICE01"
            )
            for i in range(6)
        )
    )
    assert all(r.status == 200 for r in replies)
    await fake_pd.wait_for(lambda: len(fake_pd.triggers()) >= 6, timeout=20)
    await asyncio.sleep(1.0)  # anything sent twice would arrive by now
    keys = sorted(e.dedup_key for e in fake_pd.triggers())
    assert keys == sorted(f"flare-INC-{i}" for i in range(1, 7))

    async def all_accepted() -> bool:
        return {p.state for p in await pages(a)} == {"accepted"}

    await eventually(all_accepted)


@pytest.mark.slow
async def test_a_page_queued_while_pagerduty_is_down_is_delivered_once_after_kill_9(
    fake_slack: FakeSlack, fake_pd: FakePagerDuty, database_url: str, tmp_path: Path
) -> None:
    env = server_env(
        fake_slack,
        database_url,
        FLARE_CONFIG=str(CATALOG),
        PAGERDUTY_EVENTS_URL=fake_pd.url,
        PAGERDUTY_API_URL=fake_pd.url,
        FLARE_OUTBOX_LEASE_SECONDS="2",
        FLARE_PAGE_MAX_BACKOFF_SECONDS="0.3",
        **ENV,
    )
    fake_pd.down_status = 503
    first = await start_server(env, tmp_path)
    try:
        async with aiohttp.ClientSession() as session:
            reply = await SlackClient(first.url, session).command(
                "/incident", "declare P0 checkout is failing --service checkout", user="U0ALICE01"
            )
        assert reply.status == 200
        assert "Declared *INC-1*" in reply.json()["text"]
        await fake_pd.wait_for(lambda: len(fake_pd.attempts) >= 2, timeout=15)
        first.kill()
        attempts_before = len(fake_pd.attempts)
        fake_pd.down_status = None
        second = await start_server(env, tmp_path)
        try:
            await fake_pd.wait_for(lambda: len(fake_pd.triggers()) == 1, timeout=20)
            await fake_slack.wait_for(
                lambda: any("Paged payments on-call via PagerDuty" in m.text for m in fake_slack.posted()),
                timeout=15,
            )
            await asyncio.sleep(1.0)
        finally:
            assert second.terminate() == 0
    finally:
        first.kill()
    assert attempts_before >= 2
    assert [e.dedup_key for e in fake_pd.triggers()] == ["flare-INC-1"]
    assert fake_pd.triggers()[0].body["routing_key"] == ENV["FLARE_TEST_PD_PAYMENTS_KEY"]
    log = first.log() + second.log()
    assert ENV["FLARE_TEST_PD_PAYMENTS_KEY"] not in log
    assert "Traceback" not in log
