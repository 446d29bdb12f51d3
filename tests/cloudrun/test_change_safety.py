"""Issue 13's stories: every traffic change is checked when it runs, not only when proposed."""

from __future__ import annotations

from datetime import timedelta

from tests.cloudrun.conftest import ALICE, BOB, StartCR
from tests.cloudrun.helpers import (
    command,
    ephemerals,
    message_for,
    newest_id,
    rollback,
    trail,
    wait_new_change,
    wait_status,
)
from tests.conftest import TICK_TOKEN, Flare
from tests.fakes.cloudrun import FakeCloudRun, FakeEndpoints, FakeService
from tests.fakes.slack import FakeSlack
from tests.support.clock import ManualClock
from tests.support.messages import buttons, text_of
from tests.support.waits import settle

CHANNEL = "C0OPSROOM1"


async def propose(cr: Flare, text: str, user: str = ALICE, name: str = "/rollback") -> int:
    ack, change = await command(cr, name, text, user=user, channel=CHANNEL)
    assert change, ack
    return change


async def test_a_stale_proposal_does_not_undo_a_fix_and_offers_plan_again(
    cr: Flare, fake_slack: FakeSlack, fake_cloudrun: FakeCloudRun, checkout: FakeService
) -> None:
    change = await propose(cr, "checkout")
    fix = checkout.deploy(image="us-docker.pkg.dev/acme/app/checkout:fix")  # serves 100% now
    await cr.slack.block_action("rollback_confirm", str(change), user=BOB, channel=CHANNEL)
    row = await wait_status(cr, change, "stale")
    assert fake_cloudrun.requests("update_service") == []
    assert checkout.serving() == {fix.name: 100}
    message = message_for(fake_slack, CHANNEL, change)
    body = text_of(message)
    assert "Traffic changed since this plan was made" in body
    assert f"now {fix.name} 100%" in (row.detail or "")
    assert "Done and verified" not in body
    assert set(buttons(message.blocks)) == {"rollback_plan_again"}
    assert not any(f"change #{change}" in m.text for m in fake_slack.posted("C0DEPLOYS") if "done" in m.text)

    await cr.slack.block_action("rollback_plan_again", str(change), user=ALICE, channel=CHANNEL)
    again = await wait_new_change(cr, change)
    fresh = await rollback(cr, again)
    assert fresh.status == "proposed"
    assert fresh.plan is not None
    assert fresh.plan["before"] == {fix.name: 100}  # planned from what serves now
    assert fresh.plan["after"] == {checkout.revisions[-2].name: 100}


async def test_traffic_moved_by_someone_else_between_proposal_and_confirm_is_not_overwritten(
    cr: Flare, fake_slack: FakeSlack, fake_cloudrun: FakeCloudRun, checkout: FakeService
) -> None:
    names = [r.name for r in checkout.revisions]
    change = await propose(cr, "checkout")
    checkout.set_traffic({names[-1]: 50, names[0]: 50})  # a canary set with gcloud meanwhile
    await cr.slack.block_action("rollback_confirm", str(change), user=BOB, channel=CHANNEL)
    row = await wait_status(cr, change, "stale")
    assert fake_cloudrun.requests("update_service") == []
    assert f"{names[0]} 50%" in (row.detail or "")
    await settle(cr)
    [notice] = [m.text for m in fake_slack.posted("C0DEPLOYS") if f"change #{change}" in m.text]
    assert "not carried out" in notice
    assert "traffic unchanged" not in notice


async def test_guards_run_again_at_confirm_against_the_live_service(
    cr: Flare, fake_cloudrun: FakeCloudRun, checkout: FakeService
) -> None:
    change = await propose(cr, "checkout")
    target = checkout.revisions[-2]
    target.ready, target.message = False, "Container failed to start"
    await cr.slack.block_action("rollback_confirm", str(change), user=BOB, channel=CHANNEL)
    row = await wait_status(cr, change, "refused")
    assert "At Confirm" in (row.detail or "")
    assert "failed to start" in (row.detail or "")
    assert fake_cloudrun.requests("update_service") == []


async def test_force_still_overrides_at_confirm_and_is_recorded_again(
    cr: Flare, fake_cloudrun: FakeCloudRun, checkout: FakeService
) -> None:
    serving = checkout.revisions[-1].name
    change = await propose(cr, f"checkout --to {serving} --force")
    await cr.slack.block_action("rollback_confirm", str(change), user=BOB, channel=CHANNEL)
    await wait_status(cr, change, "succeeded")
    events = await trail(cr, change)
    assert events.count("guard_overridden") == 2  # at proposal and again at Confirm
    assert len(fake_cloudrun.requests("update_service")) == 1


async def test_the_loop_guard_uses_what_served_before_each_change(
    cr: Flare, fake_slack: FakeSlack, checkout: FakeService
) -> None:
    names = [r.name for r in checkout.revisions]
    first = await propose(cr, "checkout")
    await cr.slack.block_action("rollback_confirm", str(first), user=BOB, channel=CHANNEL)
    await wait_status(cr, first, "succeeded")
    row = await rollback(cr, first)
    assert row.before_traffic is not None
    assert row.before_traffic["serving"] == {names[-1]: 100}
    assert row.before_traffic["allocation"] == [
        {"latest": False, "revision": names[-1], "percent": 100, "tag": None}
    ]
    second = await propose(cr, f"checkout --to {names[0]}")
    await cr.slack.block_action("rollback_confirm", str(second), user=BOB, channel=CHANNEL)
    await wait_status(cr, second, "succeeded")
    assert (await rollback(cr, second)).before_traffic["serving"] == {names[-2]: 100}  # type: ignore[index]
    announced = [m.text for m in fake_slack.posted("C0DEPLOYS") if f"change #{second}" in m.text]
    assert f"{names[-2]} 100% → {names[0]} 100%" in announced[0]
    # Going back to the revision Flare just left (names[-2]) is a loop: refused.
    refused = await propose(cr, f"checkout --to {names[-2]}")
    assert (await rollback(cr, refused)).status == "refused"
    assert f"away from {names[-2]}" in ephemerals(fake_slack, ALICE)[-1]


async def test_proposals_expire_on_the_tick_and_at_confirm(
    start_cr: StartCR, fake_slack: FakeSlack, fake_cloudrun: FakeCloudRun
) -> None:
    clock = ManualClock()
    cr = await start_cr(clock=clock)
    change = await propose(cr, "checkout")
    assert "expires at" in text_of(message_for(fake_slack, CHANNEL, change))
    clock.advance(timedelta(minutes=16))
    # Confirm after the TTL is refused privately with Plan again, even before any tick ran.
    await cr.slack.block_action("rollback_confirm", str(change), user=BOB, channel=CHANNEL)
    await fake_slack.wait_for(lambda: any("expired" in t for t in ephemerals(fake_slack, BOB)))
    note = next(p for p in fake_slack.ephemerals if p.get("user") == BOB and "expired" in text_of(p))
    assert "rollback_plan_again" in text_of(note)
    assert (await rollback(cr, change)).status == "expired"
    assert fake_cloudrun.requests("update_service") == []
    await settle(cr)
    assert "Expired" in text_of(message_for(fake_slack, CHANNEL, change))

    # The tick marks a forgotten proposal expired and updates its message.
    later = await propose(cr, "checkout")
    clock.advance(timedelta(minutes=16))
    status, _ = await cr.post("/tasks/tick", headers={"Authorization": f"Bearer {TICK_TOKEN}"})
    assert status == 200
    await wait_status(cr, later, "expired")
    assert "Expired" in text_of(message_for(fake_slack, CHANNEL, later))


async def test_a_double_click_posts_one_proposal_and_patches_once(
    cr: Flare, fake_slack: FakeSlack, fake_cloudrun: FakeCloudRun, endpoints: FakeEndpoints
) -> None:
    endpoints.health("checkout/health", "unhealthy", {"db": "unhealthy"})
    first = await propose(cr, "checkout")
    await cr.slack.block_action("rollback_confirm", str(first), user=BOB, channel=CHANNEL)
    await wait_status(cr, first, "unverified")
    posts_before = len(fake_slack.posted(CHANNEL))
    # Restore previous, clicked twice (two trigger ids), and the same from another person.
    await cr.slack.block_action("rollback_restore", str(first), user=ALICE, channel=CHANNEL)
    restore = await wait_new_change(cr, first)
    await cr.slack.block_action("rollback_restore", str(first), user=ALICE, channel=CHANNEL)
    await cr.slack.block_action("rollback_restore", str(first), user=BOB, channel=CHANNEL)
    await fake_slack.wait_for(lambda: any(f"change #{restore}" in t for t in ephemerals(fake_slack, BOB)))
    await settle(cr)
    assert await newest_id(cr) == restore
    assert len(fake_slack.posted(CHANNEL)) == posts_before + 1
    assert any("already open" in t for t in ephemerals(fake_slack, ALICE))
    endpoints.health("checkout/health", "healthy")
    await cr.slack.block_action("rollback_confirm", str(restore), user=BOB, channel=CHANNEL)
    await cr.slack.block_action("rollback_confirm", str(restore), user=BOB, channel=CHANNEL)
    await wait_status(cr, restore, "succeeded")
    assert len(fake_cloudrun.requests("update_service")) == 2  # the rollback and one restore
    metrics = cr.container.metrics.render().decode()
    assert 'rollbacks_total{env="production",result="succeeded",service="checkout"} 1.0' in metrics


async def test_a_second_command_is_pointed_to_the_open_proposal_and_force_replaces_it(
    cr: Flare, fake_slack: FakeSlack
) -> None:
    first = await propose(cr, "checkout")
    ack, none = await command(cr, "/rollback", "checkout", user=BOB, channel="C0OTHER001")
    assert none == 0
    assert f"change #{first}" in ack
    await fake_slack.wait_for(lambda: any(f"<#{CHANNEL}>" in t for t in ephemerals(fake_slack, BOB)))
    assert fake_slack.posted("C0OTHER001") == []
    forced = await propose(cr, "checkout --force", user=BOB)
    assert (await rollback(cr, first)).status == "replaced"
    await settle(cr)
    assert f"replaced by change #{forced}" in text_of(message_for(fake_slack, CHANNEL, first))
    assert buttons(message_for(fake_slack, CHANNEL, first).blocks) == {}
    assert "replaced" in await trail(cr, first)


async def test_restore_previous_puts_back_latest_exactly_and_the_plan_warns(
    cr: Flare,
    fake_slack: FakeSlack,
    fake_cloudrun: FakeCloudRun,
    checkout: FakeService,
    endpoints: FakeEndpoints,
) -> None:
    names = [r.name for r in checkout.revisions]
    checkout.follow_latest()
    change = await propose(cr, "checkout")
    body = text_of(message_for(fake_slack, CHANNEL, change))
    assert "follows LATEST" in body
    assert "--to-latest" in body
    endpoints.health("checkout/health", "unhealthy")
    await cr.slack.block_action("rollback_confirm", str(change), user=BOB, channel=CHANNEL)
    await wait_status(cr, change, "unverified")
    assert (await rollback(cr, change)).before_traffic["allocation"] == [  # type: ignore[index]
        {"latest": True, "revision": None, "percent": 100, "tag": None}
    ]
    await cr.slack.block_action("rollback_restore", str(change), user=ALICE, channel=CHANNEL)
    restore = await wait_new_change(cr, change)
    assert "follows LATEST" not in text_of(message_for(fake_slack, CHANNEL, restore))
    endpoints.health("checkout/health", "healthy")
    await cr.slack.block_action("rollback_confirm", str(restore), user=BOB, channel=CHANNEL)
    await wait_status(cr, restore, "succeeded")
    assert fake_cloudrun.requests("update_service")[-1].body["traffic"] == [{"type": 1, "percent": 100}]
    assert checkout.traffic == [{"type": 1, "percent": 100}]
    # A later deploy gets the traffic again.
    new = checkout.deploy(traffic=False)
    assert checkout.serving() == {new.name: 100}
    assert names[-1] != new.name


async def test_a_5xx_patch_that_applied_is_verified_not_reported_unchanged(
    cr: Flare, fake_slack: FakeSlack, fake_cloudrun: FakeCloudRun, checkout: FakeService
) -> None:
    previous = checkout.revisions[-2].name
    change = await propose(cr, "checkout")
    fake_cloudrun.apply_then_fail.append(503)
    await cr.slack.block_action("rollback_confirm", str(change), user=BOB, channel=CHANNEL)
    row = await wait_status(cr, change, "succeeded")
    assert checkout.serving() == {previous: 100}
    assert "but the traffic had moved as planned" in (row.detail or "")
    announced = [m.text for m in fake_slack.posted("C0DEPLOYS") if f"change #{change}" in m.text]
    assert "traffic unchanged" not in announced[0]


async def test_a_failed_patch_says_unchanged_only_when_seen(
    cr: Flare, fake_slack: FakeSlack, fake_cloudrun: FakeCloudRun, checkout: FakeService
) -> None:
    serving = checkout.revisions[-1].name
    change = await propose(cr, "checkout")
    fake_cloudrun.fail("update_service", 503, times=5)
    await cr.slack.block_action("rollback_confirm", str(change), user=BOB, channel=CHANNEL)
    row = await wait_status(cr, change, "failed")
    assert f"Traffic unchanged: Cloud Run still serves {serving} 100%" in (row.detail or "")
    announced = [m.text for m in fake_slack.posted("C0DEPLOYS") if f"change #{change}" in m.text]
    assert "failed; traffic unchanged (checked)" in announced[0]
    assert "rollback_plan_again" in text_of(message_for(fake_slack, CHANNEL, change))

    # When the service cannot be read back either, Flare says it does not know.
    again = await propose(cr, "checkout")
    fake_cloudrun.fail("update_service", 503, times=5)
    fake_cloudrun.delays["update_service"] = 0.5  # the PATCH is in flight when reads start failing
    await cr.slack.block_action("rollback_confirm", str(again), user=BOB, channel=CHANNEL)
    await fake_cloudrun.wait_for(lambda: len(fake_cloudrun.requests("update_service")) >= 2)
    fake_cloudrun.fail("get_service", 503, times=1000)
    row = await wait_status(cr, again, "failed")
    fake_cloudrun.faults.clear()
    assert "cannot tell whether the traffic moved" in (row.detail or "")
    await settle(cr)
    announced = [m.text for m in fake_slack.posted("C0DEPLOYS") if f"change #{again}" in m.text]
    assert "unknown" in announced[0]
    assert "traffic unchanged" not in announced[0]


async def test_a_plan_that_cannot_be_posted_is_explained_through_response_url(
    cr: Flare, fake_slack: FakeSlack, fake_cloudrun: FakeCloudRun
) -> None:
    fake_slack.fail("chat.postMessage", status=200, error="not_in_channel")
    reply = await cr.slack.command("/rollback", "checkout", user=ALICE, channel="C0NOTIN001")
    assert "plan will be posted here" in reply.json()["text"]
    await fake_slack.wait_for(lambda: bool(fake_slack.responses), timeout=10)
    [note] = fake_slack.responses
    assert note["response_type"] == "ephemeral"
    assert "not_in_channel" in note["text"]
    assert "Invite @Flare to <#C0NOTIN001>" in note["text"]
    assert "or use it in <#C0PAYMENTS>" in note["text"]  # checkout's team channel
    change = await newest_id(cr)
    row = await rollback(cr, change)
    assert row.status == "failed"
    assert row.open_slot is None
    # The withdrawn proposal does not block the next request.
    again = await propose(cr, "checkout")
    assert again > change
    assert fake_cloudrun.requests("update_service") == []


async def test_a_result_that_cannot_be_shown_reaches_the_requester_once(
    cr: Flare, fake_slack: FakeSlack, checkout: FakeService
) -> None:
    change = await propose(cr, "checkout")
    fake_slack.fail("chat.update", status=200, error="is_archived", times=20)
    await cr.slack.block_action("rollback_confirm", str(change), user=BOB, channel=CHANNEL)
    await wait_status(cr, change, "succeeded")
    await fake_slack.wait_for(lambda: bool(fake_slack.responses), timeout=10)
    await settle(cr)
    [note] = fake_slack.responses
    assert "could not post the result" in note["text"]
    assert "is_archived" in note["text"]
    assert "done and verified" in note["text"]
