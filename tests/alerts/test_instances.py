"""Several Flare instances on one database (PostgreSQL in production): no duplicates, no double posts."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

from sqlalchemy import func, select

from bot.incidents.models import Incident
from tests.alerts.conftest import (
    AM_TOKEN,
    am_alert,
    am_payload,
    bearer,
    block_text,
    stored_alerts,
    stored_groups,
)
from tests.fakes.slack import FakeSlack

AM = "/webhooks/alertmanager"


async def test_ha_peers_hitting_different_instances_store_once_and_post_once(
    start_alerts: Any, fake_slack: FakeSlack
) -> None:
    a, b = await start_alerts(), await start_alerts()
    sends = []
    for i in range(12):
        payload = am_payload(
            am_alert(service="checkout", severity="critical", instance=f"i{i}"),
            am_alert(service="checkout", severity="critical", instance=f"i{i}-bis"),
        )
        for flare in (a, b, a):  # each notification arrives at both instances, one of them twice
            sends.append(flare.post(AM, json=payload, headers=bearer(AM_TOKEN)))
    answers = await asyncio.gather(*sends)
    assert {status for status, _ in answers} == {200}
    assert sum(body["stored"] for _, body in answers) == 24

    assert len(await stored_alerts(a)) == 24
    (group,) = await stored_groups(b)
    assert (group.firing, group.total) == (24, 24)
    await fake_slack.wait_for(lambda: len(fake_slack.posted("C0PAYCRIT")) == 1)
    message = fake_slack.posted("C0PAYCRIT")[0]
    await fake_slack.wait_for(lambda: "*24 firing*" in block_text(message.blocks), timeout=10)
    writes = [
        c
        for c in fake_slack.calls
        if c.method in ("chat.postMessage", "chat.update") and c.response.get("ok")
    ]
    assert [c.method for c in writes].count("chat.postMessage") == 1
    gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(writes)]
    assert all(gap >= 0.98 for gap in gaps), gaps  # both publishers respect one pacing window


async def test_a_p0_sent_to_two_instances_at_once_declares_one_incident(start_alerts: Any) -> None:
    a, b = await start_alerts(), await start_alerts()
    payload = am_payload(am_alert(service="checkout", severity="page"))
    answers = await asyncio.gather(
        *(flare.post(AM, json=payload, headers=bearer(AM_TOKEN)) for flare in (a, b, a, b))
    )
    assert {status for status, _ in answers} == {200}
    payload = am_payload(am_alert("Other", service="checkout", severity="page"), group_key="other")
    await asyncio.gather(*(flare.post(AM, json=payload, headers=bearer(AM_TOKEN)) for flare in (b, a)))
    async with a.container.db.sessions() as session:
        assert (await session.execute(select(func.count()).select_from(Incident))).scalar_one() == 1
    groups = await stored_groups(a)
    assert len(groups) == 2
    assert len({g.incident_id for g in groups}) == 1
