"""docs/operations.md explains every metric Flare exports and every alert rule, and the Socket Mode steps."""

from __future__ import annotations

import yaml

from tests.conftest import Flare
from tests.ops.helpers import ROOT, scrape

DOCS = (ROOT / "docs" / "operations.md").read_text()


async def test_every_exported_metric_is_explained(flare: Flare) -> None:
    families = {
        line.split(" ")[2]
        for line in (await scrape(flare)).splitlines()
        if line.startswith("# TYPE ") and not line.split(" ")[2].endswith("_created")
    }
    assert families, "no metrics exported"
    assert sorted(f for f in families if f"`{f}`" not in DOCS) == []


def test_every_alert_rule_is_explained() -> None:
    data = yaml.safe_load((ROOT / "deploy" / "prometheus" / "flare-rules.yml").read_text())
    alerts = [rule["alert"] for group in data["groups"] for rule in group["rules"]]
    assert sorted(a for a in alerts if f"| `{a}` |" not in DOCS) == []


def test_operations_docs_cover_the_issue_topics() -> None:
    for heading in (
        "### Slack app setup",
        "### Trying Flare from a laptop (Socket Mode)",
        "### Upgrading (migrations first)",
        "### Scaling out",
        "### Backing up the database",
        "### Rotating secrets",
        "### Metrics",
        "### Alerts",
    ):
        assert heading in DOCS, heading
    for fact in (
        "flare serve --socket-mode",
        "SLACK_APP_TOKEN",
        "connections:write",
        "FOR UPDATE SKIP LOCKED",
    ):
        assert fact in DOCS, fact
    assert "slack/manifest.yaml" in DOCS
    assert "FLARE_URL" in DOCS
