"""A double click on a suspect post's "Roll back to previous" posts one proposal and rolls back once."""

from __future__ import annotations

from tests.cloudrun.helpers import ephemerals, message_for, newest_id, wait_new_change, wait_status
from tests.conftest import Flare
from tests.deploys.conftest import ALICE, BOB
from tests.deploys.helpers import deploy_event, send
from tests.deploys.test_suspects import declare, suspect_posts
from tests.fakes.cloudrun import FakeCloudRun, FakeService
from tests.fakes.slack import FakeSlack
from tests.support.waits import settle


async def test_a_double_click_on_roll_back_to_previous_is_one_proposal(
    flare: Flare, fake_slack: FakeSlack, fake_cloudrun: FakeCloudRun, checkout: FakeService
) -> None:
    channel = await declare(flare, fake_slack)
    previous = checkout.revisions[-2].name
    await send(flare, deploy_event())
    await settle(flare)
    [_post] = suspect_posts(fake_slack, channel)
    await flare.slack.block_action("deploy_rollback", "1", user=ALICE, channel=channel.id)
    change = await wait_new_change(flare, 0)
    posted = len(fake_slack.posted(channel.id))
    # The second click (another trigger) and a second person: pointed to the open proposal.
    await flare.slack.block_action("deploy_rollback", "1", user=ALICE, channel=channel.id)
    await flare.slack.block_action("deploy_rollback", "1", user=BOB, channel=channel.id)
    await fake_slack.wait_for(lambda: any(f"change #{change}" in t for t in ephemerals(fake_slack, BOB)))
    await settle(flare)
    assert await newest_id(flare) == change
    assert len(fake_slack.posted(channel.id)) == posted
    assert message_for(fake_slack, channel.id, change)
    await flare.slack.block_action("rollback_confirm", str(change), user=BOB, channel=channel.id)
    await flare.slack.block_action("rollback_confirm", str(change), user=BOB, channel=channel.id)
    await wait_status(flare, change, "succeeded")
    assert checkout.serving() == {previous: 100}
    assert len(fake_cloudrun.requests("update_service")) == 1
    metrics = flare.container.metrics.render().decode()
    assert 'rollbacks_total{env="production",result="succeeded",service="checkout"} 1.0' in metrics
