"""The Silence menu on alert group messages, against a real Alertmanager, with signed Slack clicks."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from bot.catalog import parse_catalog
from bot.incidents import api as incidents
from bot.incidents.models import IncidentEvent
from bot.incidents.types import DeclareRequest
from bot.postmortem.models import PostmortemDraft
from bot.silences.models import Silence
from tests.alerts.conftest import (
    AM_TOKEN,
    alert_catalog_text,
    am_alert,
    am_payload,
    bearer,
    block_text,
)
from tests.conftest import TICK_TOKEN, Flare, StartFlare
from tests.fakes.alertmanager_faults import FaultyAlertmanager
from tests.fakes.slack import FakeSlack, Message
from tests.incidents.helpers import incident_channel
from tests.silences.conftest import matchers_of, silences
from tests.support.alertmanager import Alertmanager
from tests.support.messages import buttons
from tests.support.waits import settle

BOB = "U0BOB0001"  # in rbac.production
ALICE = "U0ALICE01"  # not
CHANNEL = "C0PAYCRIT"
EXTRA = """
rbac:
  production:
    users: [U0BOB0001]
alertmanager:
  urls: [{url}]
"""


def checkout_alert(instance: str) -> dict[str, Any]:
    return am_alert(service="checkout", severity="critical", instance=instance)


@pytest.fixture
def start_group_flare(
    start_flare: StartFlare,
    webhook_env: dict[str, str],
    tmp_path: Path,
) -> Callable[[str], Awaitable[Flare]]:
    async def start(url: str) -> Flare:
        text = alert_catalog_text(interval=0.2, extra=EXTRA.format(url=url))
        return await start_flare(catalog_=parse_catalog(text, "flare.yaml"))

    return start


async def fire(flare: Flare, am: Alertmanager | None, fake_slack: FakeSlack) -> tuple[int, Message]:
    """The alerts reach Alertmanager (as from Prometheus) and Flare (as Alertmanager's webhook)."""
    alerts = [checkout_alert("a"), checkout_alert("b")]
    if am is not None:
        await am.post_alerts([{"labels": a["labels"], "annotations": a["annotations"]} for a in alerts])
    status, _ = await flare.post("/webhooks/alertmanager", json=am_payload(*alerts), headers=bearer(AM_TOKEN))
    assert status == 200
    await fake_slack.wait_for(lambda: bool(fake_slack.posted(CHANNEL)))
    message = fake_slack.posted(CHANNEL)[-1]
    menu = buttons(message.blocks)["silence_group"]
    group_id = int(menu["options"][0]["value"].split(":")[0])
    assert [o["text"]["text"] for o in menu["options"]] == ["1 hour", "4 hours", "until resolved"]
    return group_id, message


async def stored(flare: Flare) -> list[Silence]:
    async with flare.container.db.sessions() as session:
        return list((await session.execute(select(Silence).order_by(Silence.id))).scalars())


async def until(check: Callable[[], Awaitable[bool]], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.05)


async def am_alerts(am: Alertmanager) -> list[dict[str, Any]]:
    async with aiohttp.ClientSession() as session, session.get(am.url + "/api/v2/alerts") as response:
        found: list[dict[str, Any]] = await response.json()
        return found


def ephemeral_texts(fake_slack: FakeSlack, user: str) -> list[str]:
    return [str(p.get("text")) for p in fake_slack.ephemerals if p.get("user") == user]


async def test_silence_for_an_hour_then_unsilence(
    start_group_flare: Callable[[str], Awaitable[Flare]], alertmanager: Alertmanager, fake_slack: FakeSlack
) -> None:
    flare = await start_group_flare(alertmanager.url)
    group_id, _ = await fire(flare, alertmanager, fake_slack)

    for _ in range(2):  # a double click makes one silence
        reply = await flare.slack.block_action(
            "silence_group", selected_option=f"{group_id}:1h", user=BOB, channel=CHANNEL
        )
        assert reply.status == 200
    await until(lambda: _status_is(flare, "active"), "silence not active")
    await settle(flare)
    [live] = [s for s in await silences(alertmanager) if s["status"]["state"] == "active"]
    assert matchers_of(live) == {
        ("alertname", "HighLatency", False, True),
        ("service", "checkout", False, True),
        ("severity", "critical", False, True),
    }
    assert BOB in live["comment"]
    rows = await stored(flare)
    assert len([r for r in rows if r.status == "active"]) == 1
    assert (rows[0].created_by, rows[0].group_id, rows[0].alertmanager_id) == (BOB, group_id, live["id"])
    assert (rows[0].ends_at - rows[0].starts_at).total_seconds() == 3600
    await until(lambda: _suppressed(alertmanager, live["id"]), "Alertmanager does not suppress the alerts")

    await fake_slack.wait_for(
        lambda: "silenced by <@U0BOB0001>" in block_text(fake_slack.posted(CHANNEL)[-1].blocks)
    )
    message = fake_slack.posted(CHANNEL)[-1]
    assert "silence_group" not in buttons(message.blocks)
    unsilence = buttons(message.blocks)["silence_expire"]
    assert unsilence["value"] == str(rows[0].id)

    await flare.slack.block_action("silence_expire", unsilence["value"], user=ALICE, channel=CHANNEL)
    await fake_slack.wait_for(lambda: bool(ephemeral_texts(fake_slack, ALICE)))
    assert "Not unsilenced: you may not unsilence production alerts" in ephemeral_texts(fake_slack, ALICE)[0]
    assert [s["status"]["state"] for s in await silences(alertmanager)] == ["active"]
    assert [r.status for r in await stored(flare)] == ["active", "refused"]

    await flare.slack.block_action("silence_expire", unsilence["value"], user=BOB, channel=CHANNEL)
    await until(lambda: _status_is(flare, "expired"), "not expired")
    [after] = [s for s in await silences(alertmanager) if s["id"] == live["id"]]
    assert after["status"]["state"] == "expired"
    await fake_slack.wait_for(lambda: "silence_group" in buttons(fake_slack.posted(CHANNEL)[-1].blocks))


async def test_someone_outside_rbac_is_refused_privately_and_it_is_recorded(
    start_group_flare: Callable[[str], Awaitable[Flare]], alertmanager: Alertmanager, fake_slack: FakeSlack
) -> None:
    flare = await start_group_flare(alertmanager.url)
    group_id, _ = await fire(flare, None, fake_slack)
    await flare.slack.block_action(
        "silence_group", selected_option=f"{group_id}:4h", user=ALICE, channel=CHANNEL
    )
    await fake_slack.wait_for(lambda: bool(ephemeral_texts(fake_slack, ALICE)))
    [note] = ephemeral_texts(fake_slack, ALICE)
    assert "Not silenced: you may not silence production alerts" in note
    [row] = await stored(flare)
    assert (row.status, row.created_by, row.slot) == ("refused", ALICE, None)
    assert await silences(alertmanager) == []
    assert all("silenced by" not in block_text(m.blocks) for m in fake_slack.posted(CHANNEL))


@pytest.mark.parametrize("mode", ["500", "hang"])
async def test_alertmanager_failing_tells_the_person_and_silences_nothing(
    start_group_flare: Callable[[str], Awaitable[Flare]],
    faulty: FaultyAlertmanager,
    fake_slack: FakeSlack,
    mode: str,
) -> None:
    faulty.mode = mode
    flare = await start_group_flare(faulty.url)
    group_id, _ = await fire(flare, None, fake_slack)
    await flare.slack.block_action(
        "silence_group", selected_option=f"{group_id}:1h", user=BOB, channel=CHANNEL
    )
    await fake_slack.wait_for(lambda: bool(ephemeral_texts(fake_slack, BOB)), timeout=10)
    [note] = ephemeral_texts(fake_slack, BOB)
    assert "Could not silence the alerts" in note
    assert ("answered 500" if mode == "500" else "no answer within 2.0 s") in note
    [row] = await stored(flare)
    assert (row.status, row.slot) == ("failed", None)


async def test_until_resolved_ends_when_alertmanager_has_no_alert_left_and_is_on_the_timeline(
    start_group_flare: Callable[[str], Awaitable[Flare]], alertmanager: Alertmanager, fake_slack: FakeSlack
) -> None:
    flare = await start_group_flare(alertmanager.url)
    reply = await flare.slack.command("/incident", "declare P1 checkout is slow --service checkout", user=BOB)
    assert "INC-1" in reply.json()["text"]
    group_id, _ = await fire(flare, alertmanager, fake_slack)
    await until(lambda: _linked(flare, group_id), "group not linked to the incident", timeout=15)
    await flare.slack.block_action(
        "silence_group", selected_option=f"{group_id}:resolved", user=BOB, channel=CHANNEL
    )
    await until(lambda: _status_is(flare, "active"), "silence not active")
    [row] = await stored(flare)
    assert row.until_resolved

    # The alerts resolve at the source: Alertmanager no longer has them; the tick ends the silence.
    await alertmanager.post_alerts(
        [{"labels": checkout_alert(i)["labels"], "endsAt": "2020-01-01T00:00:00Z"} for i in ("a", "b")]
    )
    await until(lambda: _am_empty(alertmanager), "Alertmanager still has the alerts")
    status, _ = await flare.post("/tasks/tick", headers=bearer(TICK_TOKEN))
    assert status == 200
    await until(lambda: _status_is(flare, "expired"), "until-resolved silence not ended")
    async with flare.container.db.sessions() as session:
        texts = [
            e.text
            for e in (
                await session.execute(select(IncidentEvent).where(IncidentEvent.kind == "silence"))
            ).scalars()
        ]
    assert any("silenced by U0BOB0001 until resolved" in t for t in texts), texts
    assert any("Silence ended: the alerts resolved" in t for t in texts), texts

    # /incident timeline and the post-mortem show who silenced what.
    await settle(flare)
    channel = incident_channel(fake_slack, 1).id
    reply = await flare.slack.command("/incident", "timeline", user=BOB, channel=channel)
    shown = reply.text.replace("\\n", "\n")
    assert "silenced by U0BOB0001 until resolved" in shown, shown
    assert 'service=\\"checkout\\"' in shown or 'service="checkout"' in shown
    reply = await flare.slack.command("/incident", "postmortem", user=BOB, channel=channel)
    assert reply.status == 200
    await until(lambda: _has_draft(flare), "no post-mortem draft")
    async with flare.container.db.sessions() as session:
        [draft] = (await session.execute(select(PostmortemDraft))).scalars().all()
    assert "silenced by U0BOB0001 until resolved" in draft.markdown
    assert "Silence ended: the alerts resolved" in draft.markdown


async def declare(flare: Flare, severity: str, service: str, commander: str | None = None) -> int:
    """An incident on `service`, declared through the incidents contract (as alerts and /incident do)."""
    request = DeclareRequest(
        title=f"{service} is slow", severity=severity, declared_by=BOB, service=service, commander=commander
    )
    async with flare.container.transaction() as session:
        ref = await incidents.declare(flare.container, session, request)
    return ref.id


async def _has_draft(flare: Flare) -> bool:
    async with flare.container.db.sessions() as session:
        return bool((await session.execute(select(PostmortemDraft))).scalars().all())


async def _status_is(flare: Flare, status: str) -> bool:
    return any(r.status == status for r in await stored(flare))


async def _suppressed(am: Alertmanager, silence_id: str) -> bool:
    found = await am_alerts(am)
    return bool(found) and all(silence_id in a["status"]["silencedBy"] for a in found)


async def _am_empty(am: Alertmanager) -> bool:
    return await am_alerts(am) == []


async def _linked(flare: Flare, group_id: int) -> bool:
    from bot.alerts.models import AlertGroup

    async with flare.container.db.sessions() as session:
        group = await session.get(AlertGroup, group_id)
        return group is not None and group.incident_id is not None


async def test_groups_from_other_sources_get_no_silence_menu(
    start_group_flare: Callable[[str], Awaitable[Flare]], alertmanager: Alertmanager, fake_slack: FakeSlack
) -> None:
    from tests.alerts.conftest import GENERIC_TOKEN

    flare = await start_group_flare(alertmanager.url)
    body = {"title": "Checkout slow", "service": "checkout", "severity": "critical", "dedup_key": "g-1"}
    status, answer = await flare.post(
        "/webhooks/generic", json={"alerts": [body]}, headers=bearer(GENERIC_TOKEN)
    )
    assert status == 200, answer
    await fake_slack.wait_for(lambda: bool(fake_slack.posted(CHANNEL)))
    assert "silence_group" not in buttons(fake_slack.posted(CHANNEL)[-1].blocks)
    await flare.slack.block_action("silence_group", selected_option="1:1h", user=BOB, channel=CHANNEL)
    await fake_slack.wait_for(lambda: bool(ephemeral_texts(fake_slack, BOB)))
    assert "cannot be silenced in Alertmanager" in ephemeral_texts(fake_slack, BOB)[0]
    assert await silences(alertmanager) == []
