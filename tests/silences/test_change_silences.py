"""A confirmed change silences its service in a real Alertmanager while it settles, and unsilences after."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from sqlalchemy import select

from bot.silences.models import Silence
from tests.cloudrun.conftest import BOB
from tests.cloudrun.helpers import command, message_for, rollback, wait_status
from tests.fakes.alertmanager_faults import FaultyAlertmanager
from tests.fakes.cloudrun import FakeService
from tests.fakes.slack import FakeSlack
from tests.silences.conftest import StartAM, matchers_of, silences
from tests.support.alertmanager import Alertmanager
from tests.support.messages import buttons, text_of
from tests.support.waits import settle

CHANNEL = "C0OPSROOM1"


async def stored(flare: object) -> list[Silence]:
    async with flare.container.db.sessions() as session:  # type: ignore[attr-defined]
        return list((await session.execute(select(Silence).order_by(Silence.id))).scalars())


async def wait_silence(flare: object, status: str, timeout: float = 10.0) -> Silence:
    """The change's silence once it reaches `status` (it is expired just after the change's result)."""
    deadline = time.monotonic() + timeout
    while True:
        rows = await stored(flare)
        if rows and rows[-1].status == status:
            return rows[-1]
        assert time.monotonic() < deadline, f"silence still {rows[-1].status if rows else 'missing'}"
        await asyncio.sleep(0.05)


async def wait_step(flare: object, change: int, step: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while (await rollback(flare, change)).step != step:
        assert time.monotonic() < deadline, f"change #{change} never reached {step}"
        await asyncio.sleep(0.02)


async def active_silences(am: Alertmanager, timeout: float = 3.0) -> list[dict[str, Any]]:
    """The active silences, once there is one (it is created alongside the Cloud Run read and PATCH)."""
    deadline = time.monotonic() + timeout
    while True:
        found = [s for s in await silences(am) if s["status"]["state"] == "active"]
        if found or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.05)


async def test_a_rollback_silences_its_service_while_settling_and_expires_it_when_verified(
    start_am: StartAM, alertmanager: Alertmanager, fake_slack: FakeSlack, checkout: FakeService
) -> None:
    flare = await start_am([alertmanager.url], settle=4.0)
    previous = checkout.revisions[-2].name
    _, change = await command(flare, "/rollback", "checkout", user=BOB, channel=CHANNEL)
    await flare.slack.block_action("rollback_confirm", str(change), user=BOB, channel=CHANNEL)
    await wait_step(flare, change, "settling")

    [live] = await active_silences(alertmanager)
    assert matchers_of(live) == {("service", "checkout", False, True), ("env", "production", False, True)}
    assert live["createdBy"] == "Flare"
    assert f"change #{change}" in live["comment"]
    assert BOB in live["comment"]
    [row] = await stored(flare)
    assert (row.status, row.alertmanager_id, row.created_by) == ("active", live["id"], BOB)
    await settle(flare)
    shown = message_for(fake_slack, CHANNEL, change)
    assert "alerts for *checkout* silenced until" in text_of(shown)
    assert f"{row.ends_at:%H:%M} UTC" in text_of(shown)
    assert "silence_expire" in buttons(shown.blocks)

    await wait_status(flare, change, "succeeded")
    assert checkout.serving() == {previous: 100}
    await wait_silence(flare, "expired")
    [after] = [s for s in await silences(alertmanager) if s["id"] == live["id"]]
    assert after["status"]["state"] == "expired"
    [row] = await stored(flare)
    assert (row.status, row.expired_by, row.slot) == ("expired", "flare", None)
    await fake_slack.wait_for(
        lambda: "were silenced from" in text_of(message_for(fake_slack, CHANNEL, change))
    )
    final = message_for(fake_slack, CHANNEL, change)
    assert "were silenced from" in text_of(final)
    assert "silence_expire" not in buttons(final.blocks)


async def test_failed_verification_expires_the_silence_at_once(
    start_am: StartAM, alertmanager: Alertmanager, endpoints: object, checkout: FakeService
) -> None:
    endpoints.health("checkout/health", "unhealthy", {"db": "unhealthy"})  # type: ignore[attr-defined]
    flare = await start_am([alertmanager.url], settle=0.2)
    _, change = await command(flare, "/rollback", "checkout", user=BOB, channel=CHANNEL)
    await flare.slack.block_action("rollback_confirm", str(change), user=BOB, channel=CHANNEL)
    await wait_status(flare, change, "unverified")
    row = await wait_silence(flare, "expired")
    assert row.status == "expired"
    [silence] = await silences(alertmanager)
    assert silence["status"]["state"] == "expired"


async def test_the_first_alertmanager_that_answers_takes_it(
    start_am: StartAM, alertmanager: Alertmanager, faulty: FaultyAlertmanager, checkout: FakeService
) -> None:
    flare = await start_am([faulty.url, alertmanager.url], settle=0.2)
    _, change = await command(flare, "/rollback", "checkout", user=BOB, channel=CHANNEL)
    await flare.slack.block_action("rollback_confirm", str(change), user=BOB, channel=CHANNEL)
    await wait_status(flare, change, "succeeded")
    row = await wait_silence(flare, "expired")
    assert row.alertmanager_url == alertmanager.url
    assert [r.method for r in faulty.requests][:1] == ["POST"]
    [silence] = await silences(alertmanager)
    assert silence["status"]["state"] == "expired"


async def test_unsilence_now_on_the_change_message_expires_it_early(
    start_am: StartAM, alertmanager: Alertmanager, fake_slack: FakeSlack, checkout: FakeService
) -> None:
    flare = await start_am([alertmanager.url], settle=4.0)
    _, change = await command(flare, "/rollback", "checkout", user=BOB, channel=CHANNEL)
    await flare.slack.block_action("rollback_confirm", str(change), user=BOB, channel=CHANNEL)
    await wait_step(flare, change, "settling")
    assert len(await active_silences(alertmanager)) == 1
    [row] = await stored(flare)
    reply = await flare.slack.block_action("silence_expire", str(row.id), user=BOB, channel=CHANNEL)
    assert reply.status == 200
    deadline = time.monotonic() + 5
    while (await stored(flare))[0].status != "expired":
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    assert (await stored(flare))[0].expired_by == BOB
    [silence] = await silences(alertmanager)
    assert silence["status"]["state"] == "expired"
    await wait_status(flare, change, "succeeded")  # the change itself goes on


async def test_in_a_3_peer_cluster_the_silence_is_made_once_and_gossiped_to_every_peer(
    start_am: StartAM, tmp_path: object, checkout: FakeService
) -> None:
    from pathlib import Path

    from tests.silences.cluster import start_cluster

    peers = await start_cluster(Path(str(tmp_path)) / "cluster")
    try:
        down = "http://127.0.0.1:9"  # listed first, refuses connections: the next peer takes it
        flare = await start_am([down, peers[0].url, peers[1].url], settle=3.0)
        _, change = await command(flare, "/rollback", "checkout", user=BOB, channel=CHANNEL)
        await flare.slack.block_action("rollback_confirm", str(change), user=BOB, channel=CHANNEL)
        await wait_step(flare, change, "settling")
        row = await wait_silence(flare, "active")
        assert row.alertmanager_url == peers[0].url
        for peer in peers:  # gossip spreads it: every peer knows the one silence
            deadline = time.monotonic() + 5
            while not [s for s in await silences(peer) if s["status"]["state"] == "active"]:
                assert time.monotonic() < deadline, f"peer {peer.url} never saw the silence"
                await asyncio.sleep(0.05)
            assert [s["id"] for s in await silences(peer)] == [row.alertmanager_id]
        await wait_status(flare, change, "succeeded")
        await wait_silence(flare, "expired")
        deadline = time.monotonic() + 5
        while {s["status"]["state"] for p in peers for s in await silences(p)} != {"expired"}:
            assert time.monotonic() < deadline, "the expiry did not reach every peer"
            await asyncio.sleep(0.05)
    finally:
        for peer in peers:
            peer.stop()
