"""deploy/grafana/flare-dashboard.json: valid, laid out, and only about metrics a running Flare exports."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import Flare
from tests.ops.helpers import ROOT, exported_names, promql_metric_names, scrape

DASHBOARD = ROOT / "deploy" / "grafana" / "flare-dashboard.json"
SYNTHETIC = frozenset({"up"})
# What the issue asks the dashboard to show, by the metric that shows it.
REQUIRED = {
    "ack latency": "slack_command_ack_seconds_bucket",
    "alerts by source": "alerts_received_total",
    "open incidents": "incidents_open",
    "outbox lag": "outbox_oldest_pending_age_seconds",
    "Slack errors": "slack_api_errors_total",
    "rollbacks": "rollbacks_total",
    "deploys": "deploys_total",
}


def dashboard() -> dict[str, Any]:
    """The parsed dashboard (json.loads fails on invalid JSON)."""
    data = json.loads(DASHBOARD.read_text())
    assert isinstance(data, dict)
    return data


def panels() -> list[dict[str, Any]]:
    """Every panel that draws something (rows excluded)."""
    return [p for p in dashboard()["panels"] if p["type"] != "row"]


def expressions() -> list[str]:
    """Every PromQL expression on the dashboard."""
    return [target["expr"] for panel in panels() for target in panel["targets"]]


def test_dashboard_is_valid_json_with_a_datasource_variable() -> None:
    data = dashboard()
    assert data["title"] == "Flare"
    assert data["uid"] == "flare-bot"
    variables = {v["name"]: v for v in data["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    for panel in panels():
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        assert panel["targets"], panel["title"]
        assert panel["description"], panel["title"]
        ref_ids = [t["refId"] for t in panel["targets"]]
        assert len(ref_ids) == len(set(ref_ids)), panel["title"]


def test_panels_have_unique_ids_and_do_not_overlap() -> None:
    all_panels = dashboard()["panels"]
    ids = [p["id"] for p in all_panels]
    assert len(ids) == len(set(ids))
    cells: dict[tuple[int, int], str] = {}
    for panel in all_panels:
        grid = panel["gridPos"]
        assert grid["x"] >= 0, panel["title"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in cells, f"{panel['title']} overlaps {cells.get((x, y))}"
                cells[(x, y)] = panel["title"]


def test_dashboard_shows_what_operators_need() -> None:
    used = {name for expr in expressions() for name in promql_metric_names(expr)}
    missing = {what: metric for what, metric in REQUIRED.items() if metric not in used}
    assert missing == {}


def test_every_expression_selects_flares_job() -> None:
    for expr in expressions():
        assert 'job="flare"' in expr, expr


async def test_dashboard_only_uses_metrics_a_running_flare_exports(flare: Flare) -> None:
    exported = exported_names(await scrape(flare))
    used = {name for expr in expressions() for name in promql_metric_names(expr)}
    assert sorted(used - exported - SYNTHETIC) == []
    # The comparison can fail: a name Flare does not export is caught.
    assert promql_metric_names('rate(slack_command_ack_total{job="flare"}[5m])') - exported == {
        "slack_command_ack_total"
    }
