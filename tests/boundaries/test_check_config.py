"""`flare check-config` names the real mistake in a matcher, with file:line and YAML path."""

from __future__ import annotations

from pathlib import Path

from tests.alerts.conftest import alert_catalog_text
from tests.e2e.test_cli import run_flare


def test_double_equals_in_a_matcher_is_named_as_the_mistake(tmp_path: Path) -> None:
    text = alert_catalog_text().replace("'service=\"search\"'", "'service==\"search\"'")
    assert 'service=="search"' in text
    catalog = tmp_path / "flare.yaml"
    catalog.write_text(text)
    result = run_flare("check-config", str(catalog), cwd=tmp_path)
    assert result.returncode == 1
    line = next(n for n, row in enumerate(text.splitlines(), 1) if 'service=="search"' in row)
    assert f"{catalog}:{line}" in result.stdout
    assert "routes.rules[1].matchers[0]" in result.stdout
    assert "`==` is not an operator; use `=`" in result.stdout
    assert "unbalanced quotes" not in result.stdout


BROKEN = """\
teams:
  payments:
    channel: C0PAYMENTS
  broken:
    channel: 12
services:
  - name: checkout
    team: payments
    colour: blue
    environments:
      production: {project: acme-prod, region: us-central1, service: checkout}
  - name: search
    team: nobody
    environments:
      production: {project: acme-prod, region: us-central1, service: search}
  - name: other
    team: broken
    environments:
      production: {project: acme-prod, region: us-central1, service: other}
"""


def test_schema_errors_and_cross_checks_are_reported_in_one_run(tmp_path: Path) -> None:
    catalog = tmp_path / "flare.yaml"
    catalog.write_text(BROKEN)
    result = run_flare("check-config", str(catalog), cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert f"{catalog}:9: services[0].colour: unknown key 'colour'" in lines
    assert f"{catalog}:5: teams.broken.channel: Input should be a valid string" in lines
    # The cross-check runs on what is left, and its path and line are those of the file as written.
    assert f"{catalog}:13: services[1].team: unknown team 'nobody' (teams: payments)" in lines
    # A team that exists but is broken is reported once, as broken, not also as unknown.
    assert not any("unknown team 'broken'" in line for line in lines)
    assert lines[-1] == f"3 problem(s) in {catalog}"
