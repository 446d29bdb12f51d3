"""`flare check-config` on the deploys section: file, line, YAML path and problem."""

from __future__ import annotations

from pathlib import Path

from bot.catalog import load_catalog
from bot.deploys.config import config_check
from tests.e2e.test_cli import assert_no_traceback, run_flare

CATALOG = """\
channels:
  announcements: C0INCIDENTS
teams:
  payments:
    channel: C0PAYMENTS
deploys:
  token_env: FLARE_DEPLOY_TOKEN
  team_channel: false
  incident_envs: [production, prod]
services:
  - name: checkout
    team: payments
    environments:
      production: {project: acme-prod, region: us-central1, service: checkout, watch: true}
"""


def test_check_config_names_deploy_problems(tmp_path: Path) -> None:
    catalog = tmp_path / "flare.yaml"
    catalog.write_text(CATALOG)
    result = run_flare("check-config", str(catalog), cwd=tmp_path)
    assert result.returncode == 1, result.stdout
    assert f"{catalog}:9: deploys.incident_envs[1]: no service has an environment 'prod'" in result.stdout
    assert f"{catalog}:8: deploys.team_channel: deploys would not be posted anywhere" in result.stdout
    assert_no_traceback(result)


def test_schema_errors_in_the_deploys_section(tmp_path: Path) -> None:
    catalog = tmp_path / "flare.yaml"
    catalog.write_text(
        CATALOG.replace("  team_channel: false\n", "  watch_every: 5\n  watch_interval_seconds: 0\n").replace(
            "FLARE_DEPLOY_TOKEN", "not a variable"
        )
    )
    result = run_flare("check-config", str(catalog), cwd=tmp_path)
    assert result.returncode == 1
    assert f"{catalog}:7: deploys.token_env: must be an environment variable name" in result.stdout
    assert f"{catalog}:8: deploys.watch_every: unknown key 'watch_every'" in result.stdout
    assert f"{catalog}:9: deploys.watch_interval_seconds: " in result.stdout
    assert_no_traceback(result)


def test_a_good_deploys_section_has_no_problems(tmp_path: Path) -> None:
    catalog = tmp_path / "flare.yaml"
    catalog.write_text(CATALOG.replace(", prod]", "]").replace("team_channel: false", "team_channel: true"))
    assert config_check(load_catalog(catalog), catalog) == []
