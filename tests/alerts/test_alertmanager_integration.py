"""A real Alertmanager (two, unclustered, like HA peers) notifying a running Flare."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.alerts.conftest import AM_TOKEN, block_text, stored_alerts, stored_groups
from tests.conftest import Flare
from tests.fakes.slack import FakeSlack
from tests.support.alertmanager import Alertmanager

pytestmark = pytest.mark.slow


@pytest.fixture
async def peers(alerts_flare: Flare, tmp_path: Path) -> AsyncIterator[list[Alertmanager]]:
    """Two Alertmanagers whose webhook receiver is the running Flare."""
    url = alerts_flare.url + "/webhooks/alertmanager"
    started: list[Alertmanager] = []
    try:
        for name in ("am-a", "am-b"):
            started.append(await Alertmanager(tmp_path / name, url, AM_TOKEN).start())
        yield started
    finally:
        for peer in started:
            peer.stop()


def alert(starts: datetime, ends: datetime | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "labels": {
            "alertname": "CheckoutDown",
            "service": "checkout",
            "severity": "critical",
            "job": "checkout",
        },
        "annotations": {"summary": "checkout has no healthy instances", "runbook": "restart-checkout"},
        "startsAt": starts.isoformat().replace("+00:00", "Z"),
        "generatorURL": "http://prometheus.example/graph?g0.expr=up%7Bjob%3D%22checkout%22%7D",
    }
    if ends is not None:
        body["endsAt"] = ends.isoformat().replace("+00:00", "Z")
    return body


async def test_real_alertmanager_firing_then_resolved_reaches_slack_once(
    alerts_flare: Flare, fake_slack: FakeSlack, peers: list[Alertmanager]
) -> None:
    starts = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=5)
    for peer in peers:
        await peer.post_alerts([alert(starts)])

    await fake_slack.wait_for(lambda: len(fake_slack.posted("C0PAYCRIT")) == 1, timeout=15)
    message = fake_slack.posted("C0PAYCRIT")[0]
    assert "[P1] CheckoutDown" in block_text(message.blocks)
    assert "checkout has no healthy instances" in block_text(message.blocks)

    await fake_slack.wait_for(
        lambda: received(alerts_flare, "firing") >= 2, timeout=10
    )  # both peers notified
    (row,) = await stored_alerts(alerts_flare)  # ... and it is stored once
    assert (row.source, row.status, row.starts_at) == ("alertmanager", "firing", starts)
    assert len(row.dedup_key) == 16  # Alertmanager's own fingerprint
    (group,) = await stored_groups(alerts_flare)
    assert group.total == 1

    for peer in peers:
        await peer.post_alerts([alert(starts, ends=datetime.now(UTC))])
    await fake_slack.wait_for(lambda: block_text(message.blocks).startswith("✅"), timeout=15)
    (row,) = await stored_alerts(alerts_flare)
    assert row.status == "resolved"
    assert len(fake_slack.calls_to("chat.postMessage")) == 1
    assert received(alerts_flare, "resolved") >= 1


def received(flare: Flare, status: str) -> float:
    """How many alerts with `status` Flare has received from Alertmanager (duplicates included)."""
    value = flare.container.metrics.registry.get_sample_value(
        "alerts_received_total", {"source": "alertmanager", "status": status}
    )
    return value or 0.0
