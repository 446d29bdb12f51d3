"""The Cloud Run watcher against the fake Cloud Run API: new revisions, traffic changed outside Flare,
no repeats of what a pipeline announced or Flare did, and one poll when two instances tick at once."""

from __future__ import annotations

import asyncio

from bot.catalog import Catalog
from tests.cloudrun.helpers import command, wait_status
from tests.conftest import Flare
from tests.deploys.conftest import BOB, DEPLOYS, PAYMENTS, StartDeploys
from tests.deploys.helpers import deploy_event, deploys, messages_about, send, tick, watch_state
from tests.fakes.cloudrun import FakeCloudRun, FakeService
from tests.fakes.slack import FakeSlack
from tests.support.clock import ManualClock
from tests.support.messages import text_of
from tests.support.waits import settle


async def next_poll(flare: Flare, clock: ManualClock) -> None:
    """Move past the 5 s watch interval and tick."""
    clock.advance(seconds=6)
    await tick(flare)


async def test_first_poll_is_a_baseline_then_a_new_revision_is_announced(
    flare: Flare,
    fake_slack: FakeSlack,
    fake_cloudrun: FakeCloudRun,
    checkout: FakeService,
    clock: ManualClock,
) -> None:
    await tick(flare)
    assert await deploys(flare) == []
    assert [s.service for s in await watch_state(flare)] == ["checkout"]  # only `watch: true` targets
    polled = {c.path for c in fake_cloudrun.requests("get_service")}
    assert polled == {"/v2/projects/acme-prod/locations/us-central1/services/checkout"}

    new = checkout.deploy(**{"flare.dev/deployer": "dave@acme.test"})
    await next_poll(flare, clock)
    [row] = await deploys(flare)
    assert (row.kind, row.source, row.status, row.revision) == ("deploy", "watcher", "succeeded", new.name)
    assert row.author == "dave@acme.test"
    assert row.image == new.image
    assert row.traffic == {"before": {checkout.revisions[-2].name: 100}, "after": {new.name: 100}}
    for channel in (DEPLOYS, PAYMENTS):
        [message] = messages_about(fake_slack, channel, row.id)
        assert new.name in text_of(message)
        assert "Found by the Cloud Run watcher" in text_of(message)
    await next_poll(flare, clock)
    assert len(await deploys(flare)) == 1  # seen once, announced once


async def test_a_traffic_change_made_outside_flare_is_reported(
    flare: Flare, fake_slack: FakeSlack, checkout: FakeService, clock: ManualClock
) -> None:
    newest, previous = checkout.revisions[-1].name, checkout.revisions[-2].name
    await tick(flare)
    checkout.set_traffic({newest: 50, previous: 50})  # someone ran gcloud run services update-traffic
    await next_poll(flare, clock)
    [row] = await deploys(flare)
    assert (row.kind, row.source, row.revision) == ("traffic", "watcher", None)
    assert row.traffic == {"before": {newest: 100}, "after": {newest: 50, previous: 50}}
    [message] = messages_about(fake_slack, DEPLOYS, row.id)
    assert message.text.startswith("Traffic of checkout (production) changed outside Flare")
    assert f"`{previous}` 50%" in text_of(message)
    await next_poll(flare, clock)
    assert len(await deploys(flare)) == 1


async def test_a_deploy_the_pipeline_announced_is_not_repeated(
    flare: Flare, fake_slack: FakeSlack, checkout: FakeService, clock: ManualClock
) -> None:
    await tick(flare)
    new = checkout.deploy()
    status, _ = await send(flare, deploy_event(status="succeeded", revision=new.name))
    assert status == 200
    await settle(flare)
    posts = len(fake_slack.ok_calls("chat.postMessage"))
    await next_poll(flare, clock)
    [row] = await deploys(flare)
    assert (row.source, row.revision) == ("webhook", new.name)
    assert len(fake_slack.ok_calls("chat.postMessage")) == posts  # neither a deploy nor a traffic message


async def test_a_running_pipeline_deploy_gets_the_revision_the_watcher_sees(
    flare: Flare, fake_slack: FakeSlack, checkout: FakeService, clock: ManualClock
) -> None:
    await tick(flare)
    await send(flare, deploy_event())  # started, revision not known yet
    new = checkout.deploy()
    await next_poll(flare, clock)
    [row] = await deploys(flare)
    assert (row.source, row.status, row.revision) == ("webhook", "started", new.name)
    [message] = messages_about(fake_slack, DEPLOYS, row.id)
    assert new.name in text_of(message)  # updated in place with the revision
    status, body = await send(flare, deploy_event(status="succeeded"))
    assert (status, body["deploy"]) == (200, row.id)
    await next_poll(flare, clock)
    assert len(await deploys(flare)) == 1


async def test_the_pipeline_enriches_a_deploy_the_watcher_found_first(
    flare: Flare, fake_slack: FakeSlack, checkout: FakeService, clock: ManualClock
) -> None:
    await tick(flare)
    new = checkout.deploy()
    await next_poll(flare, clock)
    status, body = await send(flare, deploy_event(status="succeeded", revision=new.name))
    assert (status, body["status"], body["deploy"]) == (200, "ok", 1)
    await settle(flare)
    [row] = await deploys(flare)
    assert (row.source, row.author, row.commit_sha) == (
        "webhook",
        "alice",
        "4f2c9e1d8b7a6c5e4f3a2b1c0d9e8f7a6b5c4d3e",
    )
    [message] = messages_about(fake_slack, DEPLOYS, row.id)
    assert "alice" in text_of(message)
    assert message.edits == 1


async def test_flares_own_rollbacks_are_not_reported(
    flare: Flare, fake_slack: FakeSlack, checkout: FakeService, clock: ManualClock
) -> None:
    await tick(flare)
    _ack, change = await command(flare, "/rollback", "checkout", user=BOB, channel="C0OPSROOM1")
    await flare.slack.block_action("rollback_confirm", str(change), user=BOB, channel="C0OPSROOM1")
    await wait_status(flare, change, "succeeded")
    assert checkout.serving() == {checkout.revisions[-2].name: 100}
    await next_poll(flare, clock)
    assert await deploys(flare) == []
    checkout.set_traffic({checkout.revisions[-1].name: 100})  # and then someone undid it by hand
    await next_poll(flare, clock)
    assert [(d.kind, d.traffic) for d in await deploys(flare)] == [
        (
            "traffic",
            {"before": {checkout.revisions[-2].name: 100}, "after": {checkout.revisions[-1].name: 100}},
        )
    ]


async def test_polls_wait_for_the_interval_and_list_revisions_only_when_one_was_created(
    flare: Flare, fake_cloudrun: FakeCloudRun, checkout: FakeService, clock: ManualClock
) -> None:
    await tick(flare)
    await tick(flare)
    assert len(fake_cloudrun.requests("get_service")) == 1
    assert len(fake_cloudrun.requests("list_revisions")) == 1
    await next_poll(flare, clock)
    assert len(fake_cloudrun.requests("get_service")) == 2
    assert len(fake_cloudrun.requests("list_revisions")) == 1  # nothing created since the last look
    checkout.deploy(traffic=False)
    await next_poll(flare, clock)
    assert len(fake_cloudrun.requests("list_revisions")) == 2
    assert [d.revision for d in await deploys(flare)] == [checkout.revisions[-1].name]


async def test_two_instances_ticking_at_once_poll_and_announce_once(
    start_deploys: StartDeploys,
    fake_slack: FakeSlack,
    fake_cloudrun: FakeCloudRun,
    checkout: FakeService,
    clock: ManualClock,
) -> None:
    one, two = await start_deploys(), await start_deploys()
    await asyncio.gather(tick(one), tick(two))
    assert len(fake_cloudrun.requests("list_revisions")) == 1
    new = checkout.deploy()
    clock.advance(seconds=6)
    await asyncio.gather(tick(one), tick(two))
    await settle(one)
    await settle(two)
    assert len(fake_cloudrun.requests("list_revisions")) == 2
    [row] = await deploys(one)
    assert row.revision == new.name
    assert len(messages_about(fake_slack, DEPLOYS, row.id)) == 1
    assert len(messages_about(fake_slack, PAYMENTS, row.id)) == 1


async def test_cloud_run_errors_are_recorded_and_the_tick_goes_on(
    flare: Flare, fake_cloudrun: FakeCloudRun, checkout: FakeService, clock: ManualClock
) -> None:
    await tick(flare)
    fake_cloudrun.fail("get_service", 403)
    new = checkout.deploy()
    await next_poll(flare, clock)  # tick() asserts the tick answered 200
    [state] = await watch_state(flare)
    assert state.last_error is not None
    assert "permission denied on checkout" in state.last_error
    assert await deploys(flare) == []
    await next_poll(flare, clock)
    [state] = await watch_state(flare)
    assert state.last_error is None
    assert [d.revision for d in await deploys(flare)] == [new.name]


async def test_the_optional_loop_polls_without_ticks(
    start_deploys: StartDeploys, deploy_catalog: Catalog, fake_cloudrun: FakeCloudRun, checkout: FakeService
) -> None:
    settings = deploy_catalog.deploys.model_copy(update={"watch_loop": True, "watch_interval_seconds": 1.0})
    flare = await start_deploys(catalog=deploy_catalog.model_copy(update={"deploys": settings}))
    await fake_cloudrun.wait_for(lambda: len(fake_cloudrun.requests("list_revisions")) >= 1, timeout=5)
    new = checkout.deploy()
    deadline = asyncio.get_running_loop().time() + 6
    while not await deploys(flare):
        assert asyncio.get_running_loop().time() < deadline, "the loop did not find the new revision"
        await asyncio.sleep(0.1)
    assert [d.revision for d in await deploys(flare)] == [new.name]


async def test_while_flare_is_moving_traffic_the_watcher_waits(
    start_deploys: StartDeploys, deploy_catalog: Catalog, checkout: FakeService
) -> None:
    # Real time here: moving the clock would also expire the running rollback's 1 s lease.
    catalog = deploy_catalog.model_copy(
        update={
            "rollback": deploy_catalog.rollback.model_copy(update={"settle_seconds": 3}),
            "deploys": deploy_catalog.deploys.model_copy(update={"watch_interval_seconds": 1.0}),
        }
    )
    flare = await start_deploys(catalog=catalog)
    newest, previous = checkout.revisions[-1].name, checkout.revisions[-2].name
    await tick(flare)
    _ack, change = await command(flare, "/rollback", "checkout", user=BOB, channel="C0OPSROOM1")
    await flare.slack.block_action("rollback_confirm", str(change), user=BOB, channel="C0OPSROOM1")
    row = await wait_status(flare, change, "running")
    deadline = asyncio.get_running_loop().time() + 5
    while checkout.serving() != {previous: 100}:  # moved; the change is settling now
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.05)
    await asyncio.sleep(1.0)
    await tick(flare)
    assert (await wait_status(flare, change, ("running", "succeeded"))).status == "running"
    [state] = await watch_state(flare)
    assert state.state["serving"] == {newest: 100}  # judged once the change has finished
    row = await wait_status(flare, change, "succeeded")
    await asyncio.sleep(1.0)
    await tick(flare)
    [state] = await watch_state(flare)
    assert state.state["serving"] == {previous: 100}
    assert await deploys(flare) == []
    assert row.status == "succeeded"
