"""`flare routes test --source` and the live webhook make the same routing decision for the same input.

Story: for a typical Prometheus alert {alertname, job=checkout, severity=critical} the CLI predicted
#alerts while Flare posted to the payments channel (the webhook derives service from `job`).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from handlers.cli import main
from tests.alerts.conftest import AM_TOKEN, alert_catalog_text, am_alert, am_payload, bearer, pd_headers
from tests.alerts.test_pagerduty import pd_event
from tests.conftest import Flare
from tests.fakes.slack import FakeSlack


def _cli(tmp_path: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    path = tmp_path / "flare.yaml"
    path.write_text(alert_catalog_text())
    code = main(["routes", "test", "--config", str(path), *args])
    return code, capsys.readouterr().out


async def test_prometheus_alert_routes_the_same_in_cli_and_webhook(
    alerts_flare: Flare, fake_slack: FakeSlack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = _cli(
        tmp_path, capsys, "--source", "alertmanager", "--verify-channels", "C0PAYCRIT",
        "--labels", "alertname=HighLatency", "job=checkout", "severity=critical",
    )  # fmt: skip
    assert code == 0, out
    assert 'service="checkout"' in out.splitlines()[-2]  # the derived labels are shown
    assert "checkout-critical" in out

    alert = am_alert("HighLatency", job="checkout", severity="critical")
    status, answer = await alerts_flare.post(
        "/webhooks/alertmanager", json=am_payload(alert), headers=bearer(AM_TOKEN)
    )
    assert (status, answer["stored"]) == (200, 1)
    await fake_slack.wait_for(lambda: len(fake_slack.posted("C0PAYCRIT")) == 1)
    assert fake_slack.posted("C0ALERTS1") == []


async def test_pagerduty_incident_routes_the_same_in_cli_and_webhook(
    alerts_flare: Flare, fake_slack: FakeSlack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = _cli(
        tmp_path, capsys, "--source", "pagerduty", "--verify-channels", "C0PAYCRIT",
        "--labels", "service=Checkout", "urgency=high",
    )  # fmt: skip
    assert code == 0, out
    body = json.dumps(pd_event("incident.triggered", urgency="high")).encode()
    status, _ = await alerts_flare.post(
        "/webhooks/pagerduty", data=body, headers=pd_headers(body, webhook_id="w1")
    )
    assert status == 200
    await fake_slack.wait_for(lambda: len(fake_slack.posted("C0PAYCRIT")) == 1)


def test_unknown_source_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "flare.yaml"
    path.write_text(alert_catalog_text())
    with pytest.raises(SystemExit) as exit_:
        main(["routes", "test", "--config", str(path), "--source", "nagios", "--labels", "a=b"])
    assert exit_.value.code == 2
    assert "invalid choice: 'nagios'" in capsys.readouterr().err
