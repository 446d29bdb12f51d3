"""The buttons on a group message: Acknowledge, Declare incident, Run runbook."""

from __future__ import annotations

import json

from tests.alerts.conftest import AM_TOKEN, am_alert, am_payload, bearer, block_text, stored_groups
from tests.conftest import Flare
from tests.fakes.slack import FakeSlack
from tests.support.messages import buttons

AM = "/webhooks/alertmanager"


async def fire(flare: Flare, fake: FakeSlack, **labels: str) -> int:
    alert = am_alert(service="checkout", severity="critical", **labels)
    alert["annotations"]["runbook"] = "restart-checkout"
    status, body = await flare.post(AM, json=am_payload(alert), headers=bearer(AM_TOKEN))
    assert status == 200
    await fake.wait_for(lambda: len(fake.posted("C0PAYCRIT")) == 1)
    (group_id,) = body["groups"]
    return int(group_id)


async def test_acknowledge_records_who_and_updates_the_message(
    alerts_flare: Flare, fake_slack: FakeSlack
) -> None:
    group_id = await fire(alerts_flare, fake_slack)
    message = fake_slack.posted("C0PAYCRIT")[0]
    ack = buttons(message.blocks)["alert_ack"]
    assert ack["value"] == str(group_id)

    reply = await alerts_flare.slack.block_action(
        "alert_ack", ack["value"], user="U0BOB0001", channel="C0PAYCRIT", message_ts=message.ts
    )
    assert reply.status == 200
    (group,) = await stored_groups(alerts_flare)
    assert group.acked_by == "U0BOB0001"
    assert group.acked_at is not None
    await fake_slack.wait_for(lambda: "acknowledged by <@U0BOB0001>" in block_text(message.blocks))
    assert "alert_ack" not in buttons(message.blocks)

    # A second click (someone else, or a double click) changes nothing and says who got there first.
    reply = await alerts_flare.slack.block_action(
        "alert_ack", ack["value"], user="U0CAROL01", channel="C0PAYCRIT"
    )
    assert reply.status == 200
    (group,) = await stored_groups(alerts_flare)
    assert group.acked_by == "U0BOB0001"
    await fake_slack.wait_for(lambda: bool(fake_slack.ephemerals))
    (note,) = fake_slack.ephemerals
    assert (note["user"], note["channel"]) == ("U0CAROL01", "C0PAYCRIT")
    assert "Already acknowledged by <@U0BOB0001>" in note["text"]


async def test_acknowledge_with_a_forged_value_changes_nothing(
    alerts_flare: Flare, fake_slack: FakeSlack
) -> None:
    await fire(alerts_flare, fake_slack)
    for value in ("not-a-number", "999999", "-1", ""):
        reply = await alerts_flare.slack.block_action("alert_ack", value, user="U0BOB0001")
        assert reply.status == 200
    (group,) = await stored_groups(alerts_flare)
    assert group.acked_by is None


async def test_declare_opens_the_modal_prefilled_with_the_group(
    alerts_flare: Flare, fake_slack: FakeSlack
) -> None:
    group_id = await fire(alerts_flare, fake_slack)
    button = buttons(fake_slack.posted("C0PAYCRIT")[0].blocks)["alert_declare"]
    reply = await alerts_flare.slack.block_action(
        "alert_declare", button["value"], trigger_id="42.trigger.declare"
    )
    assert reply.status == 200
    await fake_slack.wait_for(lambda: bool(fake_slack.views))
    (view,) = fake_slack.views
    assert view["trigger_id"] == "42.trigger.declare"
    assert json.loads(view["private_metadata"]) == {"origin": f"alert-group:{group_id}"}
    fields = {b["block_id"]: b["element"] for b in view["blocks"] if b.get("type") == "input"}
    assert fields["title"]["initial_value"] == "HighLatency"
    assert fields["severity"]["initial_option"]["value"] == "P1"
    assert fields["service"]["initial_option"]["value"] == "checkout"
    assert f"alert group #{group_id}" in fields["description"]["initial_value"]


async def test_run_runbook_button_carries_runbook_service_and_env(
    alerts_flare: Flare, fake_slack: FakeSlack
) -> None:
    await fire(alerts_flare, fake_slack, env="production")
    button = buttons(fake_slack.posted("C0PAYCRIT")[0].blocks)["runbook_run"]
    assert json.loads(button["value"]) == {
        "runbook": "restart-checkout",
        "service": "checkout",
        "env": "production",
    }
    assert button["text"]["text"] == "Run runbook"
