"""Alerts and incidents: the timeline and the incident channel thread, auto-declare, Declare-button flow."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from sqlalchemy import select

from bot.incidents import api
from bot.incidents.models import Incident, IncidentEvent
from tests.alerts.conftest import AM_TOKEN, am_alert, am_payload, bearer, block_text, stored_groups
from tests.conftest import TICK_TOKEN, Flare
from tests.fakes.slack import FakeSlack
from tests.support.messages import buttons
from tests.support.waits import eventually

AM = "/webhooks/alertmanager"


async def events(flare: Flare, kind: str | None = None) -> list[IncidentEvent]:
    async with flare.container.db.sessions() as session:
        stmt = select(IncidentEvent).order_by(IncidentEvent.id)
        if kind:
            stmt = stmt.where(IncidentEvent.kind == kind)
        return list((await session.execute(stmt)).scalars())


async def incidents(flare: Flare) -> list[Incident]:
    async with flare.container.db.sessions() as session:
        return list((await session.execute(select(Incident).order_by(Incident.id))).scalars())


async def declare_checkout(flare: Flare) -> api.IncidentRef:
    async with flare.container.transaction() as session:
        return await api.declare(
            flare.container,
            session,
            api.DeclareRequest(
                title="Checkout failing", severity="P1", declared_by="U0BOB0001", service="checkout"
            ),
        )


def incident_channel(fake: FakeSlack) -> str:
    (call,) = [c for c in fake.ok_calls("conversations.create")]
    return str(call.response["channel"]["id"])


async def test_an_alert_for_a_service_with_an_open_incident_goes_into_its_timeline_and_thread(
    alerts_flare: Flare, fake_slack: FakeSlack
) -> None:
    ref = await declare_checkout(alerts_flare)
    await fake_slack.wait_for(lambda: bool(fake_slack.ok_calls("conversations.create")))
    channel = incident_channel(fake_slack)

    firing = am_alert(service="checkout", severity="critical", instance="a")
    await alerts_flare.post(AM, json=am_payload(firing), headers=bearer(AM_TOKEN))

    async def fired_recorded() -> bool:
        return len(await events(alerts_flare, "alert_fired")) == 1

    await eventually(fired_recorded, timeout=8.0)
    (fired,) = await events(alerts_flare, "alert_fired")
    assert fired.incident_id == ref.id
    assert fired.data["url"] == "http://prometheus.example/graph?g0.expr=up"
    assert fired.text.startswith("Fired: HighLatency")
    assert fired.occurred_at.isoformat() == "2026-01-05T10:00:00+00:00"
    (group,) = await stored_groups(alerts_flare)
    assert group.incident_id == ref.id

    # The group message in the team channel says where the incident is and drops the Declare button.
    await fake_slack.wait_for(lambda: len(fake_slack.posted("C0PAYCRIT")) == 1)
    main = fake_slack.posted("C0PAYCRIT")
    await fake_slack.wait_for(lambda: f"linked to {ref.human_id}" in block_text(main[0].blocks))
    assert "alert_declare" not in buttons(main[0].blocks)
    # In the incident channel: a copy of the group message, and a thread under it.
    await fake_slack.wait_for(lambda: any(m.thread_ts for m in fake_slack.posted(channel)))
    copy = next(m for m in fake_slack.posted(channel) if "HighLatency" in block_text(m.blocks))
    (reply,) = [m for m in fake_slack.posted(channel) if m.thread_ts == copy.ts]
    assert "fired" in reply.text
    assert "HighLatency" in reply.text

    resolved = {**firing, "status": "resolved", "endsAt": "2026-01-05T10:20:00Z"}
    await alerts_flare.post(AM, json=am_payload(resolved), headers=bearer(AM_TOKEN))

    async def resolved_recorded() -> bool:
        return len(await events(alerts_flare, "alert_resolved")) == 1

    await eventually(resolved_recorded, timeout=8.0)
    (closed,) = await events(alerts_flare, "alert_resolved")
    assert closed.occurred_at.isoformat() == "2026-01-05T10:20:00+00:00"
    await fake_slack.wait_for(
        lambda: any("resolved" in m.text and m.thread_ts == copy.ts for m in fake_slack.posted(channel))
    )
    await fake_slack.wait_for(lambda: block_text(copy.blocks).startswith("✅"))


async def test_acknowledging_a_linked_group_is_recorded_in_the_timeline(
    alerts_flare: Flare, fake_slack: FakeSlack
) -> None:
    ref = await declare_checkout(alerts_flare)
    _, body = await alerts_flare.post(
        AM, json=am_payload(am_alert(service="checkout", severity="critical")), headers=bearer(AM_TOKEN)
    )

    async def linked() -> bool:
        return [g.incident_id for g in await stored_groups(alerts_flare)] == [ref.id]

    await eventually(linked, timeout=8.0)
    await alerts_flare.slack.block_action("alert_ack", str(body["groups"][0]), user="U0CAROL01")
    (ack,) = await events(alerts_flare, "alert_acknowledged")
    assert (ack.incident_id, ack.actor) == (ref.id, "U0CAROL01")


async def test_a_p0_alert_auto_declares_one_incident_even_from_several_peers(
    alerts_flare: Flare, fake_slack: FakeSlack
) -> None:
    payload = am_payload(am_alert(service="checkout", severity="page", instance="a"))
    answers = await asyncio.gather(
        *(alerts_flare.post(AM, json=payload, headers=bearer(AM_TOKEN)) for _ in range(3))
    )
    assert [status for status, _ in answers] == [200, 200, 200]

    (incident,) = await incidents(alerts_flare)
    (group,) = await stored_groups(alerts_flare)
    assert (incident.severity, incident.service, incident.source, incident.declared_by) == (
        "P0",
        "checkout",
        "alert",
        "flare",
    )
    assert incident.dedup_key == f"alert-group:{group.id}"
    assert incident.origin == f"alert-group:{group.id}"
    assert group.incident_id == incident.id
    await fake_slack.wait_for(lambda: len(fake_slack.ok_calls("conversations.create")) == 1)

    # Another P0 group on the same service joins the open incident instead of declaring a second.
    other = am_payload(am_alert("ErrorBudgetBurn", service="checkout", severity="page"), group_key="other")
    await alerts_flare.post(AM, json=other, headers=bearer(AM_TOKEN))
    assert len(await incidents(alerts_flare)) == 1
    assert [g.incident_id for g in await stored_groups(alerts_flare)] == [incident.id, incident.id]


async def test_a_p1_alert_does_not_auto_declare(alerts_flare: Flare) -> None:
    payload = am_payload(am_alert(service="checkout", severity="critical"))
    await alerts_flare.post(AM, json=payload, headers=bearer(AM_TOKEN))
    assert await incidents(alerts_flare) == []


async def test_declare_button_then_modal_then_the_tick_links_the_group(
    alerts_flare: Flare, fake_slack: FakeSlack
) -> None:
    _, body = await alerts_flare.post(
        AM, json=am_payload(am_alert(service="checkout", severity="critical")), headers=bearer(AM_TOKEN)
    )
    (group_id,) = body["groups"]
    await fake_slack.wait_for(lambda: len(fake_slack.posted("C0PAYCRIT")) == 1)
    await alerts_flare.slack.block_action("alert_declare", str(group_id))
    await fake_slack.wait_for(lambda: bool(fake_slack.views))
    view = fake_slack.views[0]
    fields = {b["block_id"]: b["element"] for b in view["blocks"] if b.get("type") == "input"}
    values: dict[str, dict[str, Any]] = {
        "title": {"value": {"type": "plain_text_input", "value": fields["title"]["initial_value"]}},
        "severity": {
            "value": {"type": "static_select", "selected_option": fields["severity"]["initial_option"]}
        },
        "service": {
            "value": {"type": "static_select", "selected_option": fields["service"]["initial_option"]}
        },
        "description": {
            "value": {"type": "plain_text_input", "value": fields["description"]["initial_value"]}
        },
        "commander": {"value": {"type": "users_select", "selected_user": None}},
    }
    reply = await alerts_flare.slack.view_submission(
        view["callback_id"], values, private_metadata=view["private_metadata"], user="U0BOB0001"
    )
    assert reply.status == 200
    (incident,) = await incidents(alerts_flare)
    assert incident.origin == f"alert-group:{group_id}"
    assert json.loads(view["private_metadata"])["origin"] == incident.origin

    status, _ = await alerts_flare.post("/tasks/tick", headers=bearer(TICK_TOKEN))
    assert status == 200
    (group,) = await stored_groups(alerts_flare)
    assert group.incident_id == incident.id
    message = fake_slack.posted("C0PAYCRIT")[0]
    await fake_slack.wait_for(lambda: f"linked to INC-{incident.id}" in block_text(message.blocks))
