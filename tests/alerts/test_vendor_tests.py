"""Every vendor's "send a test notification" is answered 200 "test received" and confirmed in Slack.

Story: during setup, a vendor's test looked broken (Cloud Monitoring's was refused with 400; others were
stored as real alerts or ignored silently). The Cloud Monitoring case is in test_gcp_monitoring.py.
"""

from __future__ import annotations

import json

from tests.alerts.conftest import GRAFANA_TOKEN, bearer, pd_headers, stored_alerts
from tests.alerts.test_grafana import signed
from tests.alerts.test_pagerduty import pd_event
from tests.conftest import Flare
from tests.fakes.slack import FakeSlack

# What Grafana's contact point "Test" button sends (Grafana 10/11 webhook notifier, fixed TestAlert).
GRAFANA_TEST = {
    "receiver": "test",
    "status": "firing",
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "TestAlert", "instance": "Grafana"},
            "annotations": {"summary": "Notification test"},
            "startsAt": "2026-01-05T10:00:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "",
            "fingerprint": "57c6d9296de2ad39",
            "silenceURL": "https://grafana.example/alerting/silence/new?alertmanager=grafana"
            "&matcher=alertname%3DTestAlert&matcher=instance%3DGrafana",
            "dashboardURL": "",
            "panelURL": "",
            "values": None,
            "valueString": "[ metric='foo' labels={instance=bar} value=10 ]",
        }
    ],
    "groupLabels": {"alertname": "TestAlert", "instance": "Grafana"},
    "commonLabels": {"alertname": "TestAlert", "instance": "Grafana"},
    "commonAnnotations": {"summary": "Notification test"},
    "externalURL": "https://grafana.example/",
    "version": "1",
    "groupKey": "test-57c6d9296de2ad39-1767607200",
    "truncatedAlerts": 0,
    "orgId": 1,
    "title": "[FIRING:1]  (TestAlert Grafana)",
    "state": "alerting",
    "message": "**Firing**\n\nValue: [no value]\nLabels:\n - alertname = TestAlert\n - instance = Grafana\n",
}


async def test_grafana_contact_point_test(alerts_flare: Flare, fake_slack: FakeSlack) -> None:
    body = json.dumps(GRAFANA_TEST).encode()
    status, answer = await alerts_flare.post(
        "/webhooks/grafana", data=body, headers={**bearer(GRAFANA_TOKEN), **signed(body)}
    )
    assert (status, answer["status"], answer["channels"]) == (200, "test received", ["C0ALERTS1"])
    assert await stored_alerts(alerts_flare) == []
    await fake_slack.wait_for(lambda: len(fake_slack.posted("C0ALERTS1")) == 1)
    assert "Test notification from Grafana received" in fake_slack.posted("C0ALERTS1")[0].text


async def test_pagerduty_ping(alerts_flare: Flare, fake_slack: FakeSlack) -> None:
    ping = pd_event("pagey.ping")
    ping["event"]["resource_type"] = "pagey"
    ping["event"]["data"] = {"message": "Hello from your friend Pagey!", "type": "ping"}
    body = json.dumps(ping).encode()
    status, answer = await alerts_flare.post(
        "/webhooks/pagerduty", data=body, headers=pd_headers(body, webhook_id="wh-ping")
    )
    assert (status, answer["status"]) == (200, "test received")
    assert await stored_alerts(alerts_flare) == []
    await fake_slack.wait_for(lambda: len(fake_slack.posted("C0ALERTS1")) == 1)
    assert "Test notification from PagerDuty received" in fake_slack.posted("C0ALERTS1")[0].text
