"""Two instances on one database: one confirm wins, the service lock holds, a dead instance is reported."""

from __future__ import annotations

import asyncio

from bot.db import locks
from bot.rollback.flows import lock_name
from tests.cloudrun.conftest import ALICE, BOB, CAROL, LEASE_SECONDS, ONCALL, StartCR
from tests.cloudrun.helpers import command, ephemerals, message_for, rollback, trail, wait_status
from tests.conftest import TICK_TOKEN
from tests.fakes.cloudrun import FakeCloudRun, FakeService
from tests.fakes.slack import FakeSlack
from tests.support.messages import text_of
from tests.support.waits import settle

CHANNEL = "C0OPSROOM1"


async def test_the_same_confirm_on_two_instances_runs_once(
    start_cr: StartCR, fake_slack: FakeSlack, fake_cloudrun: FakeCloudRun, checkout: FakeService
) -> None:
    a, b = await start_cr(), await start_cr()
    _ack, change = await command(a, "/rollback", "checkout", user=ALICE, channel=CHANNEL)
    replies = await asyncio.gather(
        a.slack.block_action("rollback_confirm", str(change), user=BOB, channel=CHANNEL),
        b.slack.block_action("rollback_confirm", str(change), user=BOB, channel=CHANNEL),
    )
    assert [r.status for r in replies] == [200, 200]
    await wait_status(a, change, "succeeded")
    await settle(b)
    assert len(fake_cloudrun.requests("update_service")) == 1
    assert (await trail(a, change)).count("confirmed") == 1
    assert any("already" in t for t in ephemerals(fake_slack, BOB))


async def test_a_second_change_while_one_runs_is_refused_naming_the_holder(
    start_cr: StartCR, fake_slack: FakeSlack, fake_cloudrun: FakeCloudRun, checkout: FakeService
) -> None:
    fake_slack.usergroups[ONCALL] = [CAROL]
    a, b = await start_cr(), await start_cr()
    _ack, first = await command(a, "/rollback", "checkout", user=ALICE, channel=CHANNEL)
    fake_cloudrun.operation_seconds = 1.5  # the first change stays in flight for a while
    await a.slack.block_action("rollback_confirm", str(first), user=BOB, channel=CHANNEL)
    await wait_status(a, first, "running")
    # Planned while the first is in flight (Cloud Run still serves the old revision).
    _ack, second = await command(b, "/rollback", "checkout --steps 2", user=ALICE, channel=CHANNEL)
    assert second, _ack
    await b.slack.block_action("rollback_confirm", str(second), user=CAROL, channel=CHANNEL)
    await fake_slack.wait_for(lambda: any("is locked" in t for t in ephemerals(fake_slack, CAROL)))
    refusal = next(t for t in ephemerals(fake_slack, CAROL) if "is locked" in t)
    assert f"<@{BOB}> is running change #{first}" in refusal
    assert (await rollback(b, second)).status == "proposed"
    assert "confirm_refused" in await trail(b, second)
    await wait_status(a, first, "succeeded")
    # The lock is free again, but the second plan was made before the first moved traffic:
    # Confirm re-reads the service and refuses to act on a stale plan.
    fake_cloudrun.operation_seconds = 0
    await b.slack.block_action("rollback_confirm", str(second), user=CAROL, channel=CHANNEL)
    row = await wait_status(b, second, "stale")
    assert checkout.revisions[-2].name in (row.detail or "")
    assert len(fake_cloudrun.requests("update_service")) == 1
    assert checkout.serving() == {checkout.revisions[-2].name: 100}


async def test_a_second_proposal_from_another_instance_replaces_the_first_only_when_different(
    start_cr: StartCR, fake_slack: FakeSlack, fake_cloudrun: FakeCloudRun
) -> None:
    a, b = await start_cr(), await start_cr()
    _ack, first = await command(a, "/rollback", "checkout", user=ALICE, channel=CHANNEL)
    ack, same = await command(b, "/rollback", "checkout", user=BOB, channel=CHANNEL)
    assert same == 0
    assert f"change #{first}" in ack
    await fake_slack.wait_for(lambda: any(f"change #{first}" in t for t in ephemerals(fake_slack, BOB)))
    _ack, second = await command(b, "/rollback", "checkout --steps 2", user=BOB, channel=CHANNEL)
    assert second > first
    assert (await rollback(a, first)).status == "replaced"
    await settle(a)
    assert f"replaced by change #{second}" in text_of(message_for(fake_slack, CHANNEL, first))
    await a.slack.block_action("rollback_confirm", str(first), user=BOB, channel=CHANNEL)
    await fake_slack.wait_for(
        lambda: any("confirm that one instead" in t for t in ephemerals(fake_slack, BOB))
    )
    assert fake_cloudrun.requests("update_service") == []


async def test_a_change_whose_instance_dies_is_reported_interrupted(
    start_cr: StartCR, fake_slack: FakeSlack, fake_cloudrun: FakeCloudRun
) -> None:
    a = await start_cr()
    _ack, change = await command(a, "/rollback", "checkout", user=ALICE, channel=CHANNEL)
    fake_cloudrun.operation_seconds = 60.0  # Cloud Run is still rolling out when the instance dies
    await a.slack.block_action("rollback_confirm", str(change), user=BOB, channel=CHANNEL)
    await wait_status(a, change, "running")
    await fake_cloudrun.wait_for(lambda: bool(fake_cloudrun.requests("update_service")))
    await a.stop()

    b = await start_cr()
    row = await wait_status(b, change, "interrupted", timeout=10)
    await fake_slack.wait_for(
        lambda: any(
            f"change #{change}" in m.text and "interrupted" in m.text for m in fake_slack.posted("C0DEPLOYS")
        )
    )
    row = await rollback(b, change)
    # The operation never completed: a fresh read shows the old traffic, and the report says so.
    assert "had not applied it: traffic unchanged" in (row.detail or "")
    body = text_of(message_for(fake_slack, CHANNEL, change))
    assert "Interrupted by a restart while moving traffic" in body
    assert "rollback_plan_again" in body
    [notice] = [m.text for m in fake_slack.posted("C0DEPLOYS") if f"change #{change}" in m.text]
    assert "before Cloud Run applied it; traffic unchanged (checked)" in notice
    assert await trail(b, change) == ["proposed", "confirmed", "acting", "interrupted"]
    async with b.container.db.sessions() as session:
        assert (
            await locks.current(session, lock_name("checkout", "production"), now=b.container.clock.now())
            is None
        )
    metrics = b.container.metrics.render().decode()
    assert 'rollbacks_total{env="production",result="interrupted",service="checkout"} 1.0' in metrics


async def test_a_live_instance_reports_a_dead_ones_change_at_its_next_tick(
    start_cr: StartCR, fake_slack: FakeSlack, fake_cloudrun: FakeCloudRun
) -> None:
    a, b = await start_cr(), await start_cr()
    _ack, change = await command(a, "/rollback", "checkout", user=ALICE, channel=CHANNEL)
    fake_cloudrun.operation_seconds = 60.0
    await a.slack.block_action("rollback_confirm", str(change), user=BOB, channel=CHANNEL)
    await wait_status(a, change, "running")
    status, _ = await b.post("/tasks/tick", headers={"Authorization": f"Bearer {TICK_TOKEN}"})
    assert status == 200
    assert (await rollback(b, change)).status == "running"  # a is alive and renews its lease
    await a.stop()
    await asyncio.sleep(LEASE_SECONDS + 0.3)  # one lease
    status, body = await b.post("/tasks/tick", headers={"Authorization": f"Bearer {TICK_TOKEN}"})
    assert status == 200, body
    await wait_status(b, change, "interrupted", timeout=2)
