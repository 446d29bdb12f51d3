"""`flare check-config` validates the PagerDuty settings and names a team whose variable is unset."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.test_cli import assert_no_traceback, run_flare
from tests.paging.conftest import CATALOG, ENV


def test_all_variables_set_is_ok(tmp_path: Path) -> None:
    result = run_flare("check-config", str(CATALOG), env=ENV, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK:" in result.stdout


def test_an_unset_routing_key_names_the_team_variable_file_and_line(tmp_path: Path) -> None:
    env = {k: v for k, v in ENV.items() if k != "FLARE_TEST_PD_DATABASES_KEY"}
    result = run_flare("check-config", str(CATALOG), env=env, cwd=tmp_path)
    assert result.returncode == 1
    assert_no_traceback(result)
    lines = CATALOG.read_text().splitlines()
    line = next(i for i, text in enumerate(lines, 1) if "FLARE_TEST_PD_DATABASES_KEY" in text)
    assert (
        f"{CATALOG}:{line}: teams.databases.pagerduty.routing_key_env: team databases: "
        "FLARE_TEST_PD_DATABASES_KEY is not set" in result.stdout
    )
    assert "1 problem(s)" in result.stdout


def test_bad_values_are_schema_errors_with_their_path(tmp_path: Path) -> None:
    text = CATALOG.read_text().replace("on_declare: [P0, P1]", "on_declare: [P0, P7]")
    text = text.replace("escalation_policy: PPAY001", "escalation_policy: payments")
    text = text.replace("routing_key_env: FLARE_TEST_PD_DATABASES_KEY", "routing_key_env: not a var")
    path = tmp_path / "flare.yaml"
    path.write_text(text)
    result = run_flare("check-config", str(path), env=ENV, cwd=tmp_path)
    assert result.returncode == 1
    assert_no_traceback(result)
    assert "paging.on_declare[1]" in result.stdout
    assert "teams.payments.pagerduty.escalation_policy" in result.stdout
    assert "teams.databases.pagerduty.routing_key_env" in result.stdout


def test_a_token_without_an_escalation_policy_is_a_problem(tmp_path: Path) -> None:
    text = CATALOG.read_text().replace("      escalation_policy: PPAY001\n", "")
    path = tmp_path / "flare.yaml"
    path.write_text(text)
    result = run_flare("check-config", str(path), env=ENV, cwd=tmp_path)
    assert result.returncode == 1
    assert "teams.payments.pagerduty.escalation_policy" in result.stdout
    assert "needs both api_token_env and escalation_policy" in result.stdout
