"""Flare's own alert rules: promtool validates them, their unit cases pass, and they use real metric names."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import Flare
from tests.ops.helpers import ROOT, exported_names, promql_metric_names, scrape

RULES_DIR = ROOT / "deploy" / "prometheus"
RULES = RULES_DIR / "flare-rules.yml"
CASES = RULES_DIR / "flare-rules.test.yml"
# Series Prometheus makes itself rather than scraping them from Flare.
SYNTHETIC = frozenset({"up"})


def promtool(*args: str, cwd: Path = RULES_DIR) -> subprocess.CompletedProcess[str]:
    """Run the real promtool (Debian's `prometheus` package); fail clearly when it is missing."""
    path = shutil.which("promtool")
    if path is None:
        raise AssertionError(
            "promtool is not installed: `apt-get install prometheus` (Debian) or run .ci/ensure-system-deps"
        )
    return subprocess.run([path, *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False)


def rules() -> list[dict[str, Any]]:
    """Every alerting rule in flare-rules.yml."""
    data = yaml.safe_load(RULES.read_text())
    return [rule for group in data["groups"] for rule in group["rules"]]


def test_promtool_check_rules_accepts_the_rules() -> None:
    done = promtool("check", "rules", str(RULES))
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(rules())} rules found" in done.stdout


def test_promtool_unit_cases_pass() -> None:
    done = promtool("test", "rules", CASES.name)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_unit_cases_make_every_alert_fire_at_least_once() -> None:
    cases = yaml.safe_load(CASES.read_text())
    fired = {
        check["alertname"]
        for case in cases["tests"]
        for check in case.get("alert_rule_test", [])
        if check.get("exp_alerts")
    }
    assert sorted({rule["alert"] for rule in rules()} - fired) == []


def test_every_rule_has_a_severity_summary_and_description() -> None:
    for rule in rules():
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}, rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]
        assert len(rule["annotations"]["description"]) > 40, rule["alert"]


def test_a_weakened_rule_fails_its_unit_cases(tmp_path: Path) -> None:
    text = RULES.read_text()
    stuck = 'max(outbox_oldest_pending_age_seconds{job="flare"}) > 120'
    assert stuck in text
    (tmp_path / RULES.name).write_text(text.replace(stuck, stuck.replace("> 120", "> 600")))
    shutil.copy(CASES, tmp_path / CASES.name)
    done = promtool("test", "rules", CASES.name, cwd=tmp_path)
    assert done.returncode != 0
    assert "FlareOutboxStuck" in done.stdout + done.stderr


def test_the_example_prometheus_config_loads_the_rules(tmp_path: Path) -> None:
    token = tmp_path / "flare-metrics-token"
    token.write_text("metrics-token")
    config = (RULES_DIR / "prometheus.yml").read_text()
    assert "/etc/prometheus/secrets/flare-metrics-token" in config
    (tmp_path / "prometheus.yml").write_text(
        config.replace("/etc/prometheus/secrets/flare-metrics-token", str(token))
    )
    shutil.copy(RULES, tmp_path / RULES.name)
    done = promtool("check", "config", "prometheus.yml", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 1 rule files found" in done.stdout
    data = yaml.safe_load(config)
    [job] = data["scrape_configs"]
    assert job["job_name"] == "flare"
    assert job["authorization"]["type"] == "Bearer"


async def test_rules_only_use_metrics_a_running_flare_exports(flare: Flare) -> None:
    exported = exported_names(await scrape(flare))
    used = {name for rule in rules() for name in promql_metric_names(rule["expr"])}
    assert used, "no metric names found in the rules"
    assert sorted(used - exported - SYNTHETIC) == []
    # The check can fail: a misspelt metric is not exported.
    assert "outbox_oldest_pending_age" not in exported
