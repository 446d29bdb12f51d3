"""Cloud Run answering 404, 403, 503, slowly, or with a failed operation: clear sentences, nothing stuck."""

from __future__ import annotations

import itertools
import time

import pytest

from bot.cloudrun.gateway import CloudRunUnavailable, OperationFailed, PermissionDenied, ServiceNotFound
from bot.cloudrun.models import ServiceRef, TrafficSplit
from tests.cloudrun.conftest import ALICE, BOB, StartCR, gateway
from tests.cloudrun.helpers import command, ephemerals, message_for, rollback, wait_status
from tests.conftest import Flare
from tests.fakes.cloudrun import FakeCloudRun, FakeService
from tests.fakes.slack import FakeSlack
from tests.support.messages import text_of

CHANNEL = "C0OPSROOM1"
REF = ServiceRef("acme-prod", "us-central1", "checkout")


async def test_gateway_reads_and_paginates_with_the_real_client(fake_cloudrun: FakeCloudRun) -> None:
    fake_cloudrun.page_size = 20
    fake_cloudrun.add_service("acme-prod", "us-central1", "big", revisions=45)
    gw = gateway(fake_cloudrun)
    revisions = await gw.list_revisions(ServiceRef("acme-prod", "us-central1", "big"))
    assert len(revisions) == 45
    assert [r.name for r in revisions][:2] == ["big-00045-" + revisions[0].name[-3:], revisions[1].name]
    assert all(a.created and b.created and a.created > b.created for a, b in itertools.pairwise(revisions))
    assert len(fake_cloudrun.requests("list_revisions")) == 3
    info = await gw.get_service(REF)
    assert info.uri.startswith("https://checkout-")
    assert info.serving() == {info.latest_ready_revision: 100}


async def test_gateway_errors_are_sentences_naming_the_fix(
    fake_cloudrun: FakeCloudRun, checkout: FakeService
) -> None:
    gw = gateway(fake_cloudrun)
    missing = ServiceRef("acme-prod", "us-central1", "nope")
    with pytest.raises(ServiceNotFound, match="service nope not found in acme-prod/us-central1"):
        await gw.get_service(missing)
    fake_cloudrun.fail("get_service", 403)
    with pytest.raises(PermissionDenied, match=r"roles/run\.viewer"):
        await gw.get_service(REF)
    fake_cloudrun.fail("update_service", 403)
    with pytest.raises(PermissionDenied, match=r"roles/run\.developer plus iam\.serviceAccountUser"):
        await gw.set_traffic(REF, [TrafficSplit(100, revision=checkout.revisions[0].name)])
    fake_cloudrun.fail("get_service", 503, times=50)
    with pytest.raises(CloudRunUnavailable, match="retry"):
        await gw.get_service(REF)
    fake_cloudrun.faults.clear()
    fake_cloudrun.fail_next_operation("Revision checkout-00001 failed health checks")
    with pytest.raises(OperationFailed, match="failed health checks"):
        await gw.set_traffic(REF, [TrafficSplit(100, revision=checkout.revisions[0].name)])
    assert checkout.serving() == {checkout.revisions[-1].name: 100}


async def test_a_brief_503_is_retried(fake_cloudrun: FakeCloudRun) -> None:
    fake_cloudrun.fail("get_service", 503, times=1)
    info = await gateway(fake_cloudrun, read_retry_seconds=3.0).get_service(REF)
    assert info.ref == REF
    assert len(fake_cloudrun.requests("get_service")) == 2


async def test_a_slow_answer_times_out_and_says_retry(fake_cloudrun: FakeCloudRun) -> None:
    fake_cloudrun.delays["get_service"] = 1.2
    started = time.perf_counter()
    with pytest.raises(CloudRunUnavailable, match="retry"):
        await gateway(fake_cloudrun, request_timeout=0.3, read_retry_seconds=0).get_service(REF)
    assert time.perf_counter() - started < 2.0


async def test_an_operation_that_never_finishes_is_reported(
    fake_cloudrun: FakeCloudRun, checkout: FakeService
) -> None:
    fake_cloudrun.operation_seconds = 30.0
    with pytest.raises(CloudRunUnavailable, match=r"did not finish within 0\.3s"):
        await gateway(fake_cloudrun).set_traffic(
            REF, [TrafficSplit(100, revision=checkout.revisions[0].name)], timeout=0.3
        )


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (404, "not found in acme-prod/us-central1"),
        (403, "roles/run.viewer"),
        (503, "retry"),
    ],
)
async def test_planning_errors_reach_the_requester(
    cr: Flare, fake_slack: FakeSlack, fake_cloudrun: FakeCloudRun, status: int, expected: str
) -> None:
    fake_cloudrun.fail("get_service", status, times=50)
    _ack, change = await command(cr, "/rollback", "checkout", user=ALICE, channel=CHANNEL)
    row = await rollback(cr, change)
    assert row.status == "failed"
    assert expected in ephemerals(fake_slack, ALICE)[-1]
    assert fake_cloudrun.requests("update_service") == []


async def test_status_errors_reach_the_user(
    cr: Flare, fake_slack: FakeSlack, fake_cloudrun: FakeCloudRun
) -> None:
    fake_cloudrun.fail("list_revisions", 403, times=50)
    await cr.slack.command("/deploy", "status checkout", user=ALICE, channel=CHANNEL)
    await fake_slack.wait_for(lambda: any("roles/run.viewer" in t for t in ephemerals(fake_slack, ALICE)))


async def test_patch_permission_denied_fails_the_rollback_with_the_role_to_grant(
    cr: Flare, fake_slack: FakeSlack, fake_cloudrun: FakeCloudRun
) -> None:
    _ack, change = await command(cr, "/rollback", "checkout", user=ALICE, channel=CHANNEL)
    fake_cloudrun.fail("update_service", 403)
    await cr.slack.block_action("rollback_confirm", str(change), user=BOB, channel=CHANNEL)
    row = await wait_status(cr, change, "failed")
    assert "roles/run.developer" in (row.detail or "")
    assert "Traffic unchanged: Cloud Run still serves" in (row.detail or "")
    assert "roles/run.developer" in text_of(message_for(fake_slack, CHANNEL, change))


async def test_failed_operation_fails_the_rollback_and_frees_the_lock(
    cr: Flare, fake_cloudrun: FakeCloudRun, checkout: FakeService
) -> None:
    _ack, change = await command(cr, "/rollback", "checkout", user=ALICE, channel=CHANNEL)
    fake_cloudrun.fail_next_operation("Revision failed to become ready")
    await cr.slack.block_action("rollback_confirm", str(change), user=BOB, channel=CHANNEL)
    row = await wait_status(cr, change, "failed")
    assert "Revision failed to become ready" in (row.detail or "")
    assert checkout.serving() == {checkout.revisions[-1].name: 100}
    _ack, again = await command(cr, "/rollback", "checkout", user=ALICE, channel=CHANNEL)
    await cr.slack.block_action("rollback_confirm", str(again), user=BOB, channel=CHANNEL)
    await wait_status(cr, again, "succeeded")


async def test_service_missing_on_cloud_run_at_the_default_gateway(
    start_cr: StartCR, fake_slack: FakeSlack, fake_cloudrun: FakeCloudRun
) -> None:
    del fake_cloudrun.services["projects/acme-prod/locations/europe-west1/services/search-api"]
    cr = await start_cr(gw=None)
    await cr.slack.command("/deploy", "status search", user=ALICE, channel=CHANNEL)
    await fake_slack.wait_for(
        lambda: any(
            "service search-api not found in acme-prod/europe-west1" in t
            for t in ephemerals(fake_slack, ALICE)
        )
    )
