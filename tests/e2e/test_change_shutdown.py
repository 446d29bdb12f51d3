"""A real `flare serve` SIGTERMed while a Cloud Run call hangs exits 0 within 8 s, and the restart
reports the truth about the interrupted change from a fresh read."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from tests.fakes.cloudrun import FakeCloudRun
from tests.fakes.slack import FakeSlack
from tests.support.messages import buttons, text_of
from tests.support.process import server_env, start_server
from tests.support.slack_client import SlackClient

pytestmark = pytest.mark.slow

CHANNEL = "C0OPSROOM1"
BOB = "U0BOB0001"
CATALOG = """
channels:
  deployments: C0DEPLOYS
teams:
  payments:
    channel: C0PAYMENTS
    responders: [U0BOB0001]
rbac:
  production:
    users: [U0BOB0001]
rollback:
  settle_seconds: 0
services:
  - name: checkout
    team: payments
    environments:
      production:
        project: acme-prod
        region: us-central1
        service: checkout
"""


async def test_sigterm_during_a_hanging_patch_exits_in_time_and_the_restart_reports_it_applied(
    fake_slack: FakeSlack, database_url: str, tmp_path: Path
) -> None:
    fake = await FakeCloudRun().start()
    checkout = fake.add_service(
        "acme-prod", "us-central1", "checkout", revisions=3, start=datetime.now(UTC) - timedelta(days=2)
    )
    names = [r.name for r in checkout.revisions]
    catalog = tmp_path / "flare.yaml"
    catalog.write_text(CATALOG)
    env = server_env(
        fake_slack,
        database_url,
        FLARE_CONFIG=str(catalog),
        CLOUD_RUN_API_ENDPOINT=fake.url,
        FLARE_OUTBOX_LEASE_SECONDS="2",
        FLARE_SHUTDOWN_TIMEOUT_SECONDS="6",
    )
    first = await start_server(env, tmp_path)
    try:
        async with aiohttp.ClientSession() as session:
            slack = SlackClient(first.url, session, response_url=fake_slack.response_url)
            reply = await slack.command("/rollback", "checkout", user=BOB, channel=CHANNEL)
            assert "Planning" in reply.json()["text"]
            await fake_slack.wait_for(
                lambda: any("change #1" in text_of(m) for m in fake_slack.posted(CHANNEL))
            )
            # Cloud Run applies the change, but the PATCH never answers.
            fake.apply_then_hang = 120.0
            await slack.block_action("rollback_confirm", "1", user=BOB, channel=CHANNEL)
            await fake.wait_for(lambda: bool(fake.requests("update_service")), timeout=15)
            assert checkout.serving() == {names[-2]: 100}
            started = time.monotonic()
            first.process.send_signal(15)
            code = await asyncio.to_thread(first.process.wait, 10)
            elapsed = time.monotonic() - started
        assert code == 0, first.log()
        assert elapsed < 8.0, f"exit took {elapsed:.1f}s"
        assert "Traceback" not in first.log()

        second = await start_server(env, tmp_path)
        try:

            def resolved() -> bool:
                found = [m for m in fake_slack.posted(CHANNEL) if "change #1" in text_of(m)]
                return bool(found) and "had applied it" in text_of(found[-1])

            await fake_slack.wait_for(resolved, timeout=20)
            [message] = [m for m in fake_slack.posted(CHANNEL) if "change #1" in text_of(m)]
            assert set(buttons(message.blocks)) == {"rollback_further", "rollback_restore"}
            await fake_slack.wait_for(
                lambda: any("change #1" in m.text for m in fake_slack.posted("C0DEPLOYS")), timeout=10
            )
            [notice] = [m.text for m in fake_slack.posted("C0DEPLOYS") if "change #1" in m.text]
            assert "Cloud Run had applied it" in notice
            assert "traffic unchanged" not in notice
        finally:
            assert second.terminate() == 0
    finally:
        first.kill()
        await fake.stop()
