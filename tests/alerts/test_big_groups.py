"""Big Alertmanager groups: bodies up to 8 MiB are accepted, and truncatedAlerts shows in the counts.

Story: a group of ~2,000+ alerts exceeded the 1 MiB body limit and, since Alertmanager does not retry
a 4xx, was refused on every flush; `truncatedAlerts` was ignored, so counts silently understated.
"""

from __future__ import annotations

import json

from tests.alerts.conftest import AM_TOKEN, am_alert, am_payload, bearer, block_text, stored_alerts
from tests.conftest import Flare
from tests.fakes.slack import FakeSlack

AM = "/webhooks/alertmanager"


def _big_group(count: int, truncated: int) -> bytes:
    alerts = [
        am_alert(
            service="checkout",
            severity="critical",
            instance=f"checkout-{i:05d}.prod.internal:9090",
            summary="p99 latency above 2s for the checkout API in production (sustained for 10 minutes)",
        )
        for i in range(count)
    ]
    payload = am_payload(*alerts)
    payload["truncatedAlerts"] = truncated
    return json.dumps(payload).encode()


async def test_a_2500_alert_group_over_1_mib_is_stored_and_counts_what_alertmanager_left_out(
    alerts_flare: Flare, fake_slack: FakeSlack
) -> None:
    body = _big_group(2500, truncated=600)
    assert len(body) > 1024 * 1024  # the old limit
    status, answer = await alerts_flare.post(
        AM, data=body, headers={**bearer(AM_TOKEN), "Content-Type": "application/json"}
    )
    assert status == 200, answer
    assert answer["stored"] == 2500
    assert len(await stored_alerts(alerts_flare)) == 2500
    await fake_slack.wait_for(
        lambda: any(
            "not sent by Alertmanager" in block_text(m.blocks) for m in fake_slack.posted("C0PAYCRIT")
        ),
        timeout=20,
    )
    shown = block_text(fake_slack.posted("C0PAYCRIT")[-1].blocks)
    assert (
        "…and 3,095 more alerts, 600 not sent by Alertmanager in this group" in shown
    )  # 2500 - 5 shown + 600


async def test_a_body_over_8_mib_is_413_with_the_limit(alerts_flare: Flare) -> None:
    body = b'{"alerts": [' + b" " * (8 * 1024 * 1024) + b"]}"
    status, answer = await alerts_flare.post(
        AM, data=body, headers={**bearer(AM_TOKEN), "Content-Type": "application/json"}
    )
    assert status == 413
    assert "8388608" in answer["reason"]


async def test_truncated_alerts_must_be_a_count(alerts_flare: Flare) -> None:
    payload = am_payload(am_alert(service="checkout"))
    payload["truncatedAlerts"] = "many"
    status, answer = await alerts_flare.post(AM, json=payload, headers=bearer(AM_TOKEN))
    assert status == 400
    assert answer["field"] == "truncatedAlerts"
