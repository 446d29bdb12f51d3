"""/rollback end to end: plan, confirmation message, Confirm, PATCH on Cloud Run, verification, report."""

from __future__ import annotations

import time

from sqlalchemy import func, select

from bot.rollback.models import Rollback
from tests.cloudrun.conftest import ALICE, BOB, CAROL, ONCALL
from tests.cloudrun.helpers import command, ephemerals, message_for, rollback, trail, wait_status
from tests.conftest import Flare
from tests.fakes.cloudrun import FakeCloudRun, FakeEndpoints, FakeService
from tests.fakes.slack import FakeSlack
from tests.support.messages import buttons, text_of
from tests.support.waits import settle

CHANNEL = "C0OPSROOM1"


async def propose(cr: Flare, text: str, user: str = ALICE) -> int:
    ack, change = await command(cr, "/rollback", text, user=user, channel=CHANNEL)
    assert change, ack
    return change


async def test_default_rollback_goes_to_the_previous_ready_revision_and_is_verified(
    cr: Flare, fake_slack: FakeSlack, fake_cloudrun: FakeCloudRun, checkout: FakeService
) -> None:
    serving, previous = checkout.revisions[-1].name, checkout.revisions[-2].name
    change = await propose(cr, "checkout")
    assert (await rollback(cr, change)).status == "proposed"
    message = message_for(fake_slack, CHANNEL, change)
    body = text_of(message)
    assert serving in body
    assert previous in body
    assert "alice@acme.test" in body  # the deployer of the serving revision
    assert ALICE in body  # who asked
    confirm = buttons(message.blocks)["rollback_confirm"]
    assert confirm["style"] == "danger"
    assert confirm["confirm"]["style"] == "danger"  # Slack's confirm dialog
    assert "rollback_cancel" in buttons(message.blocks)
    assert fake_cloudrun.requests("update_service") == []

    await cr.slack.block_action("rollback_confirm", str(change), user=BOB, channel=CHANNEL)
    row = await wait_status(cr, change, "succeeded")
    assert checkout.serving() == {previous: 100}
    patch = fake_cloudrun.requests("update_service")[0]
    assert patch.query["updateMask"] == "traffic"
    assert patch.body["traffic"] == [{"type": 2, "revision": previous, "percent": 100}]
    assert fake_cloudrun.requests("get_operation"), "the operation was polled"
    assert row.confirmed_by == BOB
    assert "deep health healthy" in (row.detail or "")
    final = message_for(fake_slack, CHANNEL, change)
    assert final.edits >= 1
    assert "Done and verified" in text_of(final)
    assert buttons(final.blocks) == {}
    announced = [m for m in fake_slack.posted("C0DEPLOYS") if f"change #{change}" in m.text]
    assert len(announced) == 1
    assert "done and verified" in announced[0].text
    assert await trail(cr, change) == ["proposed", "confirmed", "acting", "succeeded"]
    metrics = cr.container.metrics.render().decode()
    assert 'rollbacks_total{env="production",result="succeeded",service="checkout"} 1.0' in metrics


async def test_to_accepts_a_revision_suffix(cr: Flare, fake_slack: FakeSlack, checkout: FakeService) -> None:
    oldest = checkout.revisions[0].name
    change = await propose(cr, f"checkout --to {oldest.split('-', 1)[1]}")
    row = await rollback(cr, change)
    assert row.plan is not None
    assert row.plan["after"] == {oldest: 100}
    await cr.slack.block_action("rollback_confirm", str(change), user=BOB, channel=CHANNEL)
    await wait_status(cr, change, "succeeded")
    assert checkout.serving() == {oldest: 100}


async def test_steps_counts_ready_revisions_back(cr: Flare, checkout: FakeService) -> None:
    checkout.revisions[-2].ready = False  # skipped: steps count Ready revisions only
    change = await propose(cr, "checkout --steps 2")
    row = await rollback(cr, change)
    assert row.plan is not None
    assert row.plan["after"] == {checkout.revisions[0].name: 100}


async def test_steps_beyond_history_is_explained(cr: Flare, fake_slack: FakeSlack) -> None:
    change = await propose(cr, "checkout --steps 9")
    row = await rollback(cr, change)
    assert row.status == "refused"
    assert "only 3 Ready revisions are older" in " ".join(ephemerals(fake_slack, ALICE))


async def test_dry_run_shows_the_plan_only(
    cr: Flare, fake_slack: FakeSlack, fake_cloudrun: FakeCloudRun, checkout: FakeService
) -> None:
    ack, change = await command(cr, "/rollback", "checkout --dry-run", user=ALICE, channel=CHANNEL)
    assert change == 0
    assert "dry run" in ack
    await fake_slack.wait_for(lambda: bool(ephemerals(fake_slack, ALICE)))
    shown = ephemerals(fake_slack, ALICE)[-1]
    assert checkout.revisions[-2].name in shown
    assert "all guards pass" in shown
    assert "rollback_confirm" not in shown
    assert fake_cloudrun.requests("update_service") == []
    async with cr.container.db.sessions() as session:
        assert (await session.execute(select(func.count()).select_from(Rollback))).scalar_one() == 0


async def test_list_shows_every_revision_and_the_default_target(
    cr: Flare, fake_slack: FakeSlack, checkout: FakeService
) -> None:
    await command(cr, "/rollback", "checkout --list", user=ALICE, channel=CHANNEL)
    await fake_slack.wait_for(lambda: bool(ephemerals(fake_slack, ALICE)))
    shown = ephemerals(fake_slack, ALICE)[-1]
    for revision in checkout.revisions:
        assert revision.name in shown
    line = next(part for part in shown.split("\\n") if "default rollback target" in part)
    assert checkout.revisions[-2].name in line


async def test_a_user_outside_rbac_is_refused_and_the_refusal_recorded(
    cr: Flare, fake_slack: FakeSlack, fake_cloudrun: FakeCloudRun, checkout: FakeService
) -> None:
    fake_slack.usergroups[ONCALL] = [CAROL]
    change = await propose(cr, "checkout")
    await cr.slack.block_action("rollback_confirm", str(change), user=ALICE, channel=CHANNEL)
    await fake_slack.wait_for(lambda: any("Not confirmed" in t for t in ephemerals(fake_slack, ALICE)))
    await settle(cr)
    assert (await rollback(cr, change)).status == "proposed"
    assert fake_cloudrun.requests("update_service") == []
    assert "confirm_refused" in await trail(cr, change)
    refusal = next(t for t in ephemerals(fake_slack, ALICE) if "Not confirmed" in t)
    assert "production" in refusal
    metrics = cr.container.metrics.render().decode()
    assert 'rollbacks_total{env="production",result="refused",service="checkout"} 1.0' in metrics
    # A member of the on-call user group may confirm (membership is asked from Slack).
    await cr.slack.block_action("rollback_confirm", str(change), user=CAROL, channel=CHANNEL)
    row = await wait_status(cr, change, "succeeded")
    assert row.confirmed_by == CAROL
    assert fake_slack.calls_to("usergroups.users.list")


async def test_staging_is_open_to_anyone(cr: Flare, fake_cloudrun: FakeCloudRun) -> None:
    change = await propose(cr, "checkout --env staging")
    await cr.slack.block_action("rollback_confirm", str(change), user=ALICE, channel=CHANNEL)
    await wait_status(cr, change, "succeeded")
    staging = fake_cloudrun.service("acme-staging", "us-central1", "checkout")
    assert staging.serving() == {staging.revisions[0].name: 100}


async def test_cancel_then_confirm_does_nothing(
    cr: Flare, fake_slack: FakeSlack, fake_cloudrun: FakeCloudRun
) -> None:
    change = await propose(cr, "checkout")
    await cr.slack.block_action("rollback_cancel", str(change), user=ALICE, channel=CHANNEL)
    await wait_status(cr, change, "cancelled")
    assert "Cancelled by" in text_of(message_for(fake_slack, CHANNEL, change))
    await cr.slack.block_action("rollback_confirm", str(change), user=BOB, channel=CHANNEL)
    await fake_slack.wait_for(lambda: any("already cancelled" in t for t in ephemerals(fake_slack, BOB)))
    assert fake_cloudrun.requests("update_service") == []


async def test_double_confirm_runs_once(
    cr: Flare, fake_slack: FakeSlack, fake_cloudrun: FakeCloudRun
) -> None:
    change = await propose(cr, "checkout")
    await cr.slack.block_action("rollback_confirm", str(change), user=BOB, channel=CHANNEL)
    await cr.slack.block_action("rollback_confirm", str(change), user=BOB, channel=CHANNEL)
    await wait_status(cr, change, "succeeded")
    assert len(fake_cloudrun.requests("update_service")) == 1
    assert any("already" in t for t in ephemerals(fake_slack, BOB))


async def test_same_trigger_twice_is_one_request(cr: Flare) -> None:
    first = await cr.slack.command("/rollback", "checkout", user=ALICE, channel=CHANNEL, trigger_id="77.1.x")
    second = await cr.slack.command("/rollback", "checkout", user=ALICE, channel=CHANNEL, trigger_id="77.1.x")
    assert "Planning" in first.json()["text"]
    assert "already received" in second.json()["text"]


async def test_usage_errors_are_ephemeral_with_an_example(cr: Flare) -> None:
    for text, problem in [
        ("nosuchservice", "unknown service"),
        ("checkout --env qa", "no environment 'qa'"),
        ("checkout --to a --steps 2", "not both"),
        ("checkout --steps zero", "--steps needs a number"),
        ("checkout --frobnicate", "unknown option"),
    ]:
        reply = await cr.slack.command("/rollback", text, user=ALICE, channel=CHANNEL)
        body = reply.json()
        assert body["response_type"] == "ephemeral"
        assert problem in body["text"], (text, body["text"])
        assert "Example" in body["text"]


async def test_commands_ack_before_cloud_run_answers(
    cr: Flare, fake_slack: FakeSlack, fake_cloudrun: FakeCloudRun, endpoints: FakeEndpoints
) -> None:
    fake_cloudrun.delays["*"] = 1.5
    endpoints.set("checkout/health", 200, {"status": "healthy"}, delay=1.5)
    for name, text in [("/rollback", "checkout"), ("/deploy", "status checkout"), ("/health", "checkout")]:
        started = time.perf_counter()
        reply = await cr.slack.command(name, text, user=ALICE, channel=CHANNEL)
        assert reply.status == 200
        assert time.perf_counter() - started < 1.0, f"{name} waited for Cloud Run before acking"
    await fake_slack.wait_for(lambda: len(fake_slack.posted(CHANNEL)) >= 3, timeout=10)
