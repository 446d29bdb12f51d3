"""POST /webhooks/grafana: bearer token plus Grafana's HMAC signature (with and without timestamp)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from tests.alerts.conftest import (
    GRAFANA_SECRET,
    GRAFANA_TOKEN,
    am_alert,
    bearer,
    block_text,
    hex_hmac,
    stored_alerts,
    stored_groups,
)
from tests.conftest import Flare
from tests.fakes.slack import FakeSlack

URL = "/webhooks/grafana"


def grafana_payload(*alerts: dict[str, Any]) -> dict[str, Any]:
    """A Grafana unified-alerting webhook body."""
    return {
        "receiver": "flare",
        "status": "firing" if any(a["status"] == "firing" for a in alerts) else "resolved",
        "orgId": 1,
        "alerts": list(alerts),
        "groupLabels": {"alertname": "DiskFull"},
        "commonLabels": {"alertname": "DiskFull"},
        "commonAnnotations": {},
        "externalURL": "http://grafana.example/",
        "version": "1",
        "groupKey": '{}/{}:{alertname="DiskFull"}',
        "truncatedAlerts": 0,
        "title": "[FIRING:1] DiskFull",
        "state": "alerting",
        "message": "Disk is full",
    }


def grafana_alert(**kw: Any) -> dict[str, Any]:
    alert = am_alert("DiskFull", summary="disk / is 97% full", service="search", severity="warning", **kw)
    alert.update(
        {
            "dashboardURL": "http://grafana.example/d/abc",
            "panelURL": "http://grafana.example/d/abc?viewPanel=2",
            "silenceURL": "http://grafana.example/alerting/silence/new",
            "values": {"B": 97.2},
        }
    )
    return alert


def signed(body: bytes, *, ts: str | None = None, secret: str = GRAFANA_SECRET) -> dict[str, str]:
    headers = {**bearer(GRAFANA_TOKEN), "Content-Type": "application/json"}
    if ts is None:
        headers["X-Grafana-Alerting-Signature"] = hex_hmac(secret, body)
    else:
        headers["X-Grafana-Alerting-Timestamp"] = ts
        headers["X-Grafana-Alerting-Signature"] = hex_hmac(secret, ts.encode() + b":" + body)
    return headers


async def test_signed_payload_is_stored_with_dashboard_panel_and_silence_links(
    alerts_flare: Flare, fake_slack: FakeSlack
) -> None:
    body = json.dumps(grafana_payload(grafana_alert(instance="db-1"))).encode()
    status, answer = await alerts_flare.post(URL, data=body, headers=signed(body, ts=str(int(time.time()))))
    assert (status, answer["stored"]) == (200, 1)
    (row,) = await stored_alerts(alerts_flare)
    assert (row.source, row.service, row.severity) == ("grafana", "search", "warning")
    assert row.links["dashboard"] == "http://grafana.example/d/abc"
    (group,) = await stored_groups(alerts_flare)
    # The "search" route maps warning -> P2 and posts to the owning team's channel.
    assert (group.route, group.channel, group.severity) == ("search", "C0SEARCH01", "P2")
    await fake_slack.wait_for(lambda: len(fake_slack.posted("C0SEARCH01")) == 1)
    text = block_text(fake_slack.posted("C0SEARCH01")[0].blocks)
    assert "<http://grafana.example/d/abc|dashboard>" in text
    assert "<http://grafana.example/alerting/silence/new|silence>" in text


async def test_signature_without_timestamp_signs_the_body_alone(alerts_flare: Flare) -> None:
    body = json.dumps(grafana_payload(grafana_alert())).encode()
    status, _ = await alerts_flare.post(URL, data=body, headers=signed(body))
    assert status == 200


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ("bad-signature", "does not match"),
        ("other-secret", "does not match"),
        ("no-signature", "missing X-Grafana-Alerting-Signature"),
        ("stale", "more than 300 seconds"),
        ("future", "more than 300 seconds"),
        ("tampered-body", "does not match"),
        ("no-token", "Bearer"),
    ],
)
async def test_bad_signatures_tokens_and_stale_timestamps_are_401(
    alerts_flare: Flare, change: str, reason: str
) -> None:
    body = json.dumps(grafana_payload(grafana_alert())).encode()
    now = int(time.time())
    headers = signed(body, ts=str(now))
    if change == "bad-signature":
        headers["X-Grafana-Alerting-Signature"] = "0" * 64
    elif change == "other-secret":
        headers = signed(body, ts=str(now), secret="not-the-secret")
    elif change == "no-signature":
        del headers["X-Grafana-Alerting-Signature"]
    elif change == "stale":
        headers = signed(body, ts=str(now - 301))
    elif change == "future":
        headers = signed(body, ts=str(now + 400))
    elif change == "tampered-body":
        body = body.replace(b"DiskFull", b"DiskFine")
    elif change == "no-token":
        del headers["Authorization"]
    status, answer = await alerts_flare.post(URL, data=body, headers=headers)
    assert status == 401
    assert reason in answer["reason"]
    assert GRAFANA_SECRET not in answer["reason"]
    assert await stored_alerts(alerts_flare) == []


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"alerts": "none"}, "alerts"),
        ({"alerts": [], "title": 5}, "title"),
        ({"alerts": [{"startsAt": "2026-01-05T10:00:00Z", "annotations": "x"}]}, "alerts[0].annotations"),
        ({"alerts": [{"startsAt": "2026-01-05T10:00:00Z", "dashboardURL": 1}]}, "alerts[0].dashboardURL"),
    ],
)
async def test_malformed_payloads_are_400(alerts_flare: Flare, payload: dict[str, Any], field: str) -> None:
    body = json.dumps(payload).encode()
    status, answer = await alerts_flare.post(URL, data=body, headers=signed(body))
    assert (status, answer["field"]) == (400, field)


async def test_redelivery_is_deduplicated_and_resolve_closes(
    alerts_flare: Flare, fake_slack: FakeSlack
) -> None:
    firing = grafana_alert(fingerprint="9f3a")
    body = json.dumps(grafana_payload(firing)).encode()
    for _ in range(2):
        status, _ = await alerts_flare.post(URL, data=body, headers=signed(body))
        assert status == 200
    resolved = {**firing, "status": "resolved", "endsAt": "2026-01-05T10:01:05Z"}
    body = json.dumps(grafana_payload(resolved)).encode()
    status, answer = await alerts_flare.post(URL, data=body, headers=signed(body))
    assert (status, answer["resolved"]) == (200, 1)
    (row,) = await stored_alerts(alerts_flare)
    assert (row.dedup_key, row.status) == ("9f3a", "resolved")
    await fake_slack.wait_for(
        lambda: any("resolved after 1m 5s" in block_text(m.blocks) for m in fake_slack.posted("C0SEARCH01"))
    )
