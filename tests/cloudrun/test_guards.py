"""The guards (not Ready, already serving, rolled away from lately), --force, failed verification."""

from __future__ import annotations

from datetime import timedelta

from tests.cloudrun.conftest import ALICE, BOB, StartCR
from tests.cloudrun.helpers import command, ephemerals, message_for, rollback, trail, wait_status
from tests.conftest import Flare
from tests.fakes.cloudrun import FakeCloudRun, FakeEndpoints, FakeService
from tests.fakes.slack import FakeSlack
from tests.support.clock import ManualClock
from tests.support.messages import buttons, text_of

CHANNEL = "C0OPSROOM1"


async def propose(cr: Flare, text: str) -> int:
    ack, change = await command(cr, "/rollback", text, user=ALICE, channel=CHANNEL)
    assert change, ack
    return change


async def test_not_ready_target_is_refused_unless_forced(
    cr: Flare, fake_slack: FakeSlack, fake_cloudrun: FakeCloudRun, checkout: FakeService
) -> None:
    broken = checkout.revisions[-2]
    broken.ready, broken.message = False, "Container failed to start on port 8080"
    refused = await propose(cr, f"checkout --to {broken.name}")
    assert (await rollback(cr, refused)).status == "refused"
    said = ephemerals(fake_slack, ALICE)[-1]
    assert "is not Ready" in said
    assert "failed to start" in said
    assert "--force" in said
    assert await trail(cr, refused) == ["refused"]

    forced = await propose(cr, f"checkout --to {broken.name} --force")
    row = await rollback(cr, forced)
    assert row.status == "proposed"
    assert await trail(cr, forced) == ["proposed", "guard_overridden"]
    assert "overridden with --force" in text_of(message_for(fake_slack, CHANNEL, forced))
    # Cloud Run itself refuses to route to a revision that is not Ready: the operation fails.
    await cr.slack.block_action("rollback_confirm", str(forced), user=BOB, channel=CHANNEL)
    row = await wait_status(cr, forced, "failed")
    assert "not ready and cannot serve traffic" in (row.detail or "")
    assert checkout.serving() == {checkout.revisions[-1].name: 100}
    assert "Failed" in text_of(message_for(fake_slack, CHANNEL, forced))


async def test_target_already_serving_is_refused_unless_forced(
    cr: Flare, fake_slack: FakeSlack, checkout: FakeService
) -> None:
    serving = checkout.revisions[-1].name
    refused = await propose(cr, f"checkout --to {serving}")
    assert (await rollback(cr, refused)).status == "refused"
    assert "already serves 100%" in ephemerals(fake_slack, ALICE)[-1]
    forced = await propose(cr, f"checkout --to {serving} --force")
    assert (await rollback(cr, forced)).status == "proposed"


async def test_rolling_back_to_a_revision_we_left_minutes_ago_is_refused(
    start_cr: StartCR, fake_slack: FakeSlack, checkout: FakeService
) -> None:
    clock = ManualClock()
    cr = await start_cr(clock=clock)
    bad, good = checkout.revisions[-1].name, checkout.revisions[-2].name
    first = await propose(cr, "checkout")
    await cr.slack.block_action("rollback_confirm", str(first), user=BOB, channel=CHANNEL)
    await wait_status(cr, first, "succeeded")
    assert checkout.serving() == {good: 100}

    back = await propose(cr, f"checkout --to {bad}")
    assert (await rollback(cr, back)).status == "refused"
    said = ephemerals(fake_slack, ALICE)[-1]
    assert f"away from {bad}" in said
    assert "loop" in said

    forced = await propose(cr, f"checkout --to {bad} --force")
    assert (await rollback(cr, forced)).status == "proposed"

    clock.advance(timedelta(minutes=31))
    later = await propose(cr, f"checkout --to {bad}")
    assert (await rollback(cr, later)).status == "proposed"


async def test_failed_verification_offers_further_and_restore(
    cr: Flare, fake_slack: FakeSlack, endpoints: FakeEndpoints, checkout: FakeService
) -> None:
    names = [r.name for r in checkout.revisions]
    endpoints.health("checkout/health", "unhealthy", {"db": "unhealthy"})
    change = await propose(cr, "checkout")
    await cr.slack.block_action("rollback_confirm", str(change), user=BOB, channel=CHANNEL)
    row = await wait_status(cr, change, "unverified")
    assert "deep health unhealthy" in (row.detail or "")
    message = message_for(fake_slack, CHANNEL, change)
    assert set(buttons(message.blocks)) == {"rollback_further", "rollback_restore"}
    announced = [m.text for m in fake_slack.posted("C0DEPLOYS")]
    assert any("verification failed" in t for t in announced)

    ack_before = await cr.slack.block_action("rollback_further", str(change), user=ALICE, channel=CHANNEL)
    assert ack_before.status == 200
    further = await wait_status(cr, change + 1, "proposed")
    assert further.plan is not None
    assert further.plan["after"] == {names[-3]: 100}

    await cr.slack.block_action("rollback_restore", str(change), user=ALICE, channel=CHANNEL)
    restore = await wait_status(cr, change + 2, "proposed")
    assert restore.kind == "restore"
    # Restoring goes back to the revision we just left: the loop guard does not apply to it.
    assert restore.plan is not None
    assert restore.plan["after"] == {names[-1]: 100}
    endpoints.health("checkout/health", "healthy")
    await cr.slack.block_action("rollback_confirm", str(restore.id), user=BOB, channel=CHANNEL)
    await wait_status(cr, restore.id, "succeeded")
    assert checkout.serving() == {names[-1]: 100}


async def test_traffic_that_does_not_follow_is_unverified(cr: Flare, checkout: FakeService) -> None:
    checkout.freeze_statuses = True
    change = await propose(cr, "checkout")
    await cr.slack.block_action("rollback_confirm", str(change), user=BOB, channel=CHANNEL)
    row = await wait_status(cr, change, "unverified")
    assert f"routes {checkout.revisions[-1].name} 100%" in (row.detail or "")
