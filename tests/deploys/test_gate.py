"""GET /api/deploy-gate and /deploy gate: open P0/P1 incidents block deploys until resolved or overridden."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from bot.catalog import parse_catalog
from bot.incidents import api as incidents
from bot.incidents.models import IncidentEvent
from bot.incidents.types import DeclareRequest
from tests.conftest import Flare
from tests.deploys.conftest import ALICE, BOB, CATALOG, DEPLOYS, TOKEN, StartDeploys
from tests.fakes.slack import FakeSlack
from tests.incidents.helpers import incident_channel
from tests.support.clock import ManualClock
from tests.support.waits import settle

AUTH = {"Authorization": f"Bearer {TOKEN}"}
CAROL = "U0CAROL01"


async def gate(flare: Flare, query: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    return await flare.get(f"/api/deploy-gate?{query}", headers=AUTH if headers is None else headers)


async def declare(
    flare: Flare,
    severity: str,
    service: str | None,
    commander: str | None = None,
    title: str = "checkout 500s",
) -> int:
    """An incident, declared through the incidents contract (as /incident and alerts do)."""
    request = DeclareRequest(
        title=title, severity=severity, declared_by=BOB, service=service, commander=commander
    )
    async with flare.container.transaction() as session:
        ref = await incidents.declare(flare.container, session, request)
    await settle(flare)
    return ref.id


async def test_open_then_blocked_by_a_p1_on_the_service_only(flare: Flare) -> None:
    assert await gate(flare, "service=checkout&env=production") == (
        200,
        {
            "open": True,
            "service": "checkout",
            "env": "production",
            "reason": "no open P0/P1 incident covers checkout",
        },
    )
    await declare(flare, "P2", "checkout")  # not a gated severity
    assert (await gate(flare, "service=checkout&env=production"))[0] == 200
    await declare(flare, "P1", "checkout", title="Checkout <b>down</b>")
    status, body = await gate(flare, "service=checkout&env=production")
    assert status == 423
    assert body["open"] is False
    [incident] = body["incidents"]
    assert (incident["id"], incident["severity"], incident["title"]) == (
        "INC-2",
        "P1",
        "Checkout <b>down</b>",
    )
    assert incident["url"].startswith("https://slack.com/app_redirect?channel=C")
    assert "INC-2 (P1) is open" in body["reason"]
    assert (await gate(flare, "service=search&env=production"))[0] == 200  # scope: service
    assert (await gate(flare, "service=checkout&env=staging"))[0] == 200  # envs: [production]
    # A rollback is never gated: it is the fix (the gate is only asked by deploy pipelines).


async def test_scope_all_and_incidents_without_a_service_block_every_service(
    start_deploys: StartDeploys,
) -> None:
    text = CATALOG.replace(
        "  watch_interval_seconds: 5\n",
        "  watch_interval_seconds: 5\n  gate:\n    scope: all\n    severities: [P0]\n",
    )
    flare = await start_deploys(parse_catalog(text, "flare.yaml"))
    await declare(flare, "P1", "search")
    assert (await gate(flare, "service=checkout&env=production"))[0] == 200  # P1 is not gated here
    await declare(flare, "P0", "search")
    status, body = await gate(flare, "service=checkout&env=production")
    assert (status, [i["id"] for i in body["incidents"]]) == (423, ["INC-2"])


async def test_an_incident_naming_no_service_blocks_every_service(flare: Flare) -> None:
    await declare(flare, "P0", None, title="Everything is on fire")
    for service in ("checkout", "search"):
        assert (await gate(flare, f"service={service}&env=production"))[0] == 423


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("env=production", "service"),
        ("service=&env=production", "service"),
        ("service=payments&env=production", "service"),
        ("service=checkout", "env"),
        ("service=search&env=staging", "env"),
        ("service=checkout&env=production&force=1", "force"),
    ],
)
async def test_bad_parameters_are_400_naming_the_field(flare: Flare, query: str, field: str) -> None:
    status, body = await gate(flare, query)
    assert status == 400
    assert body["field"] == field
    assert body["reason"]


async def test_a_bad_token_is_401_before_anything_is_read(flare: Flare) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": f"Basic {TOKEN}"}):
        status, body = await gate(flare, "service=nonsense", headers)
        assert status == 401
        assert "field" not in body


async def test_a_database_outage_is_503(start_deploys: StartDeploys) -> None:
    flare = await start_deploys(database_url="postgresql+asyncpg://nobody@127.0.0.1:1/none")
    status, body = await gate(flare, "service=checkout&env=production")
    assert status == 503
    assert "storage" in body["reason"]


async def test_override_by_rbac_opens_the_gate_for_n_minutes_on_the_record(
    flare: Flare, fake_slack: FakeSlack, clock: ManualClock
) -> None:
    incident = await declare(flare, "P1", "checkout")
    reply = await flare.slack.command(
        "/deploy", "gate override checkout hotfix for the 500s --minutes 20", user=ALICE
    )
    assert "Not overridden" in reply.json()["text"]
    assert (await gate(flare, "service=checkout&env=production"))[0] == 423

    reply = await flare.slack.command(
        "/deploy", "gate override checkout hotfix for the 500s --minutes 20", user=BOB
    )
    assert "opened the deploy gate for *checkout* (production)" in reply.json()["text"]
    status, body = await gate(flare, "service=checkout&env=production")
    assert status == 200
    assert body["override"]["by"] == BOB
    assert body["override"]["reason"] == "hotfix for the 500s"
    await settle(flare)
    announced = [m for m in fake_slack.posted(DEPLOYS) if "opened the deploy gate" in m.text]
    assert len(announced) == 1
    channel = incident_channel(fake_slack, incident)
    assert any("opened the deploy gate" in m.text for m in fake_slack.posted(channel.id))
    async with flare.container.db.sessions() as session:
        events = (
            (
                await session.execute(
                    select(IncidentEvent).where(
                        IncidentEvent.incident_id == incident, IncidentEvent.kind == "deploy_gate_override"
                    )
                )
            )
            .scalars()
            .all()
        )
    assert [e.actor for e in events] == [BOB]
    assert "for 20 min: hotfix for the 500s" in events[0].text

    reply = await flare.slack.command("/deploy", "gate status checkout", user=ALICE)
    assert "override by <@U0BOB0001>" in str(reply.json())
    clock.advance(minutes=21)
    assert (await gate(flare, "service=checkout&env=production"))[0] == 423


async def test_the_incident_commander_may_override(flare: Flare) -> None:
    await declare(flare, "P0", "checkout", commander=CAROL)
    reply = await flare.slack.command("/deploy", "gate override checkout customer demo", user=CAROL)
    assert "opened the deploy gate" in reply.json()["text"]
    status, body = await gate(flare, "service=checkout&env=production")
    assert status == 200
    until = body["override"]["until"]
    assert until.endswith("Z")


async def test_status_shows_what_blocks_and_bad_input_gets_usage(flare: Flare) -> None:
    await declare(flare, "P1", "checkout", title="Checkout down")
    reply = await flare.slack.command("/deploy", "gate status", user=ALICE)
    shown = str(reply.json())
    assert "1 service blocked" in shown
    assert "INC-1" in shown
    assert "Checkout down" in shown
    assert "*search* (production): open" in shown
    for text in (
        "gate",
        "gate status nowhere",
        "gate override checkout",
        "gate override checkout x --minutes 0",
    ):
        reply = await flare.slack.command("/deploy", text, user=BOB)
        assert reply.json()["response_type"] == "ephemeral"
        assert "/deploy gate" in reply.json()["text"]
