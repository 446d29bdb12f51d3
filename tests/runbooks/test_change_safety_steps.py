"""The runbook change steps and /deploy traffic get the same checks at Confirm as /rollback."""

from __future__ import annotations

from pathlib import Path

from tests.cloudrun.conftest import ALICE, BOB
from tests.cloudrun.helpers import command, message_for, wait_status
from tests.conftest import Flare
from tests.fakes.cloudrun import FakeCloudRun, FakeService
from tests.fakes.slack import FakeSlack
from tests.runbooks.helpers import step_statuses, wait_run, write_runbook
from tests.support.messages import text_of

CHANNEL = "C0OPSROOM1"


async def test_a_traffic_split_step_confirmed_after_traffic_moved_changes_nothing(
    cr: Flare, fake_slack: FakeSlack, fake_cloudrun: FakeCloudRun, checkout: FakeService, catalog_path: Path
) -> None:
    write_runbook(
        catalog_path,
        "canary",
        """
name: canary
steps:
  - id: split
    use: traffic_split
    with: {splits: {serving: 90, previous: 10}}
""",
    )
    await cr.slack.command("/runbook", "run canary checkout", user=ALICE, channel=CHANNEL)
    await wait_status(cr, 1, "proposed")
    fix = checkout.deploy()
    await cr.slack.block_action("rollback_confirm", "1", user=BOB, channel=CHANNEL)
    row = await wait_status(cr, 1, "stale")
    await wait_run(cr, 1, "succeeded")
    assert await step_statuses(cr) == {"split": "stale"}
    assert fake_cloudrun.requests("update_service") == []
    assert checkout.serving() == {fix.name: 100}
    assert fix.name in (row.detail or "")


async def test_deploy_traffic_confirmed_after_traffic_moved_changes_nothing(
    cr: Flare, fake_slack: FakeSlack, fake_cloudrun: FakeCloudRun, checkout: FakeService
) -> None:
    names = [r.name for r in checkout.revisions]
    _ack, change = await command(
        cr, "/deploy", f"traffic checkout {names[-1]}=90 {names[-2]}=10", user=ALICE, channel=CHANNEL
    )
    assert change
    checkout.set_traffic({names[0]: 100})
    await cr.slack.block_action("rollback_confirm", str(change), user=BOB, channel=CHANNEL)
    await wait_status(cr, change, "stale")
    assert fake_cloudrun.requests("update_service") == []
    assert "Traffic changed since this plan was made" in text_of(message_for(fake_slack, CHANNEL, change))
