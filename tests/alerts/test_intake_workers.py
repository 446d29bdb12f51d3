"""Concurrent deliveries share intake transactions without any worker failing on the way."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

from tests.alerts.conftest import AM_TOKEN, am_alert, am_payload, bearer, stored_alerts
from tests.conftest import Flare

AM = "/webhooks/alertmanager"


async def test_bursts_of_concurrent_deliveries_leave_no_failed_intake_worker(alerts_flare: Flare) -> None:
    # PostgreSQL runs two intake workers: one may wake from its linger to find the other took everything.
    loop = asyncio.get_running_loop()
    reported: list[dict[str, Any]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    try:
        for burst in range(6):
            payloads = [am_payload(am_alert(f"Burst{burst}", instance=str(i))) for i in range(5)]
            answers = await asyncio.gather(
                *(alerts_flare.post(AM, json=p, headers=bearer(AM_TOKEN)) for p in payloads)
            )
            assert [status for status, _ in answers] == [200] * 5
            await asyncio.sleep(0.05)
        gc.collect()  # a task that died unobserved is reported when it is collected
        await asyncio.sleep(0)
    finally:
        loop.set_exception_handler(previous)
    assert [c.get("message") for c in reported] == []
    assert len(await stored_alerts(alerts_flare)) == 30
