"""Catalog errors for `alertmanager` and `deploys.gate`: each with file:line and YAML path."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.catalog import parse_catalog
from bot.catalog.yamlpath import ConfigError
from tests.conftest import DATA
from tests.e2e.test_cli import run_flare

BASE = (DATA / "catalog.yaml").read_text()


def problems(extra: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_catalog(BASE + extra, "flare.yaml")
    return [str(p) for p in caught.value.problems]


def line_of(extra: str, needle: str) -> int:
    return (BASE + extra).splitlines().index(needle) + 1


def test_a_valid_section_parses_with_defaults() -> None:
    catalog = parse_catalog(
        BASE
        + "alertmanager:\n  urls: [http://am:9093/]\n"
        + "  silence_matchers:\n    checkout: ['job=\"checkout\"']\n",
        "flare.yaml",
    )
    assert catalog.alertmanager is not None
    assert catalog.alertmanager.urls == ["http://am:9093"]
    assert catalog.alertmanager.timeout_seconds == 2.0
    assert catalog.deploys.gate.severities == ["P0", "P1"]
    assert (catalog.deploys.gate.scope, catalog.deploys.gate.envs) == ("service", ["production"])


def test_a_malformed_matcher_names_file_line_and_path() -> None:
    extra = (
        "alertmanager:\n  urls: [http://am:9093]\n  silence_matchers:\n    checkout:\n      - 'job=~\"(\"'\n"
    )
    [problem] = problems(extra)
    line = line_of(extra, "      - 'job=~\"(\"'")
    assert problem.startswith(
        f"flare.yaml:{line}: alertmanager.silence_matchers.checkout[0]: invalid regular expression"
    )


def test_matchers_for_an_unknown_service_or_that_match_everything() -> None:
    extra = (
        "alertmanager:\n  urls: [http://am:9093]\n  silence_matchers:\n"
        "    chekout: ['job=\"x\"']\n    search: ['job!=\"x\"', 'env=~\".*\"']\n"
    )
    found = problems(extra)
    line = line_of(extra, "    chekout: ['job=\"x\"']")
    assert found[0] == (
        f"flare.yaml:{line}: alertmanager.silence_matchers.chekout: unknown service 'chekout' "
        "(services: checkout, search)"
    )
    assert (
        "alertmanager.silence_matchers.search: at least one matcher must not match the empty string"
        in found[1]
    )


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        ("alertmanager:\n  urls: []\n", "alertmanager.urls: List should have at least 1 item"),
        ("alertmanager:\n  urls: [am:9093]\n", "alertmanager.urls[0]: must start with http:// or https://"),
        (
            "alertmanager:\n  urls: [http://am]\n  token_env: 'not a name'\n",
            "alertmanager.token_env: must be an",
        ),
        (
            "alertmanager:\n  urls: [http://am]\n  username: flare\n",
            "basic auth needs both username and password_env",
        ),
        ("alertmanager:\n  urls: [http://am]\n  timeout_seconds: 5\n", "alertmanager.timeout_seconds"),
        ("deploys:\n  gate:\n    severities: [P5]\n", "deploys.gate.severities[0]"),
        ("deploys:\n  gate:\n    scope: team\n", "deploys.gate.scope"),
        (
            "deploys:\n  gate:\n    envs: [prod]\n",
            "deploys.gate.envs[0]: no service has an environment called 'prod'",
        ),
    ],
)
def test_bad_values_are_config_errors(extra: str, says: str) -> None:
    found = problems(extra)
    assert any(says in p for p in found), found
    assert all(p.startswith("flare.yaml:") and p.split(":")[1].isdigit() for p in found), found


def test_flare_check_config_reports_a_bad_silence_matcher(tmp_path: Path) -> None:
    catalog = tmp_path / "flare.yaml"
    extra = "alertmanager:\n  urls: [http://am:9093]\n  silence_matchers:\n    checkout: ['job checkout']\n"
    catalog.write_text(BASE + extra)
    result = run_flare("check-config", str(catalog), cwd=tmp_path)
    assert result.returncode == 1
    line = line_of(extra, "    checkout: ['job checkout']")
    assert f"{catalog}:{line}: alertmanager.silence_matchers.checkout[0]:" in result.stdout
