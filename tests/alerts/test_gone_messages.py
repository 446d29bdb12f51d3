"""A group message that is gone (deleted by a person or a retention policy) is posted again at once.

Story: chat.update failed with message_not_found and the alert that joined the group never reached
Slack, not even on a tick, until yet another change arrived.
"""

from __future__ import annotations

import pytest

from bot.slack.models import SlackRef
from tests.alerts.conftest import AM_TOKEN, am_alert, am_payload, bearer, block_text
from tests.conftest import Flare
from tests.fakes.slack import FakeSlack
from tests.support.waits import eventually

AM = "/webhooks/alertmanager"


async def _fire(flare: Flare, i: int) -> None:
    alert = am_alert(service="checkout", severity="critical", instance=f"i{i}")
    status, _ = await flare.post(AM, json=am_payload(alert), headers=bearer(AM_TOKEN))
    assert status == 200


async def _ref_ts(flare: Flare) -> str | None:
    async with flare.container.db.sessions() as session:
        ref = await session.get(SlackRef, "alert-group:1")
    return ref.ts if ref else None


@pytest.mark.parametrize("error", [None, "cant_update_message", "channel_not_found"])
async def test_the_alert_that_finds_its_message_gone_is_posted_anew(
    alerts_flare: Flare, fake_slack: FakeSlack, error: str | None
) -> None:
    await _fire(alerts_flare, 0)
    await fake_slack.wait_for(lambda: len(fake_slack.posted("C0PAYCRIT")) == 1)
    first = fake_slack.posted("C0PAYCRIT")[0]
    if error is None:
        fake_slack.messages["C0PAYCRIT"].clear()  # someone deleted the message
    else:
        fake_slack.fail("chat.update", status=200, error=error)
    await _fire(alerts_flare, 1)
    # No further change needed: the second alert reaches Slack in a new message.
    await fake_slack.wait_for(
        lambda: any("*2 firing*" in block_text(m.blocks) for m in fake_slack.posted("C0PAYCRIT")), timeout=10
    )
    newest = fake_slack.posted("C0PAYCRIT")[-1]
    assert newest.ts != first.ts

    async def recorded() -> bool:
        return await _ref_ts(alerts_flare) == newest.ts

    await eventually(recorded)  # the new ts is recorded
    updates = fake_slack.calls_to("chat.update")
    assert updates
    assert updates[-1].response.get("error") == (error or "message_not_found")

    # The next change edits the new message.
    await _fire(alerts_flare, 2)
    await fake_slack.wait_for(lambda: "*3 firing*" in block_text(newest.blocks), timeout=10)
    assert fake_slack.calls_to("chat.update")[-1].params["ts"] == newest.ts
