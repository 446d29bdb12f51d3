"""Catalog validation: every problem names the file, the YAML path, the line and what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.catalog import ConfigError, load_catalog, parse_catalog
from tests.conftest import DATA

VALID = """
teams:
  payments:
    channel: C0PAYMENTS
    responders: [U0BOB0001]
services:
  - name: checkout
    team: payments
    environments:
      production: {project: acme-prod, region: us-central1, service: checkout}
"""


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_catalog(text, "flare.yaml")
    return [str(p) for p in caught.value.problems]


def test_the_test_catalog_and_the_shipped_example_are_valid() -> None:
    catalog = load_catalog(DATA / "catalog.yaml")
    assert [s.name for s in catalog.services] == ["checkout", "search"]
    example = load_catalog(Path(__file__).resolve().parents[2] / "flare.example.yaml")
    assert example.services


def test_valid_catalog_resolves_services_teams_and_environments() -> None:
    catalog = parse_catalog(VALID)
    env = catalog.environment("checkout", "production")
    assert env is not None
    assert (env.project, env.region, env.service) == ("acme-prod", "us-central1", "checkout")
    team = catalog.team_for("checkout")
    assert team is not None
    assert team.channel == "C0PAYMENTS"
    assert catalog.environment("checkout", "staging") is None


def test_default_severities_and_overrides() -> None:
    catalog = parse_catalog(
        VALID + "severities:\n  P1: {reminder_minutes: 20}\n  P3: {description: Cosmetic}\n"
    )
    assert catalog.severity("P0").reminder_minutes == 15
    assert catalog.severity("P0").description.startswith("Critical")
    assert catalog.severity("P1").reminder_minutes == 20
    assert catalog.severity("P1").description.startswith("High")
    assert catalog.severity("P2").reminder_minutes == 60
    assert catalog.severity("P3").description == "Cosmetic"
    assert catalog.severity("P3").reminder_minutes is None


def test_unknown_key_is_an_error_with_path_and_line() -> None:
    text = VALID.replace("    team: payments\n", "    team: payments\n    owner: bob\n")
    assert problems(text) == ["flare.yaml:9: services[0].owner: unknown key 'owner'"]


def test_bad_value_names_the_nested_path() -> None:
    text = VALID.replace("region: us-central1", "region: US Central")
    [problem] = problems(text)
    assert problem.startswith(
        "flare.yaml:10: services[0].environments.production.region: must be a Cloud Run region"
    )


def test_missing_required_key() -> None:
    text = VALID.replace("project: acme-prod, ", "")
    assert problems(text) == [
        "flare.yaml:10: services[0].environments.production.project: missing required key 'project'"
    ]


def test_unknown_team_reference() -> None:
    text = VALID.replace("team: payments", "team: paymnets")
    assert problems(text) == ["flare.yaml:8: services[0].team: unknown team 'paymnets' (teams: payments)"]


def test_every_problem_is_reported_at_once() -> None:
    text = VALID.replace("channel: C0PAYMENTS", "channel: payments").replace("[U0BOB0001]", "[bob]")
    found = problems(text)
    assert len(found) == 2
    assert found[0].startswith("flare.yaml:4: teams.payments.channel: must be a channel ID")
    assert found[1].startswith("flare.yaml:5: teams.payments.responders[0]: must be a Slack user ID")


def test_duplicate_yaml_keys_are_errors() -> None:
    assert problems("teams: {}\nteams: {}\n") == ["flare.yaml:2: teams: duplicate key 'teams'"]


def test_invalid_yaml_names_the_line() -> None:
    [problem] = problems("teams:\n  payments: [unclosed\n")
    assert problem.startswith("flare.yaml:")
    assert "not valid YAML" in problem


def test_top_level_must_be_a_mapping() -> None:
    assert problems("- just\n- a list\n") == [
        "flare.yaml:1: (top level): the catalog must be a mapping (key: value) at the top"
    ]


def test_duplicate_service_names() -> None:
    text = VALID + (
        "  - name: checkout\n    team: payments\n    environments:\n"
        "      production: {project: acme-prod, region: us-central1, service: c2}\n"
    )
    [problem] = problems(text)
    assert "service names must be unique; repeated: checkout" in problem


def test_dependency_checks_need_their_target() -> None:
    text = VALID.replace(
        "service: checkout}",
        "service: checkout, health: {url: 'https://checkout.example.com/health', "
        "dependencies: [{name: db, type: tcp, host: db.internal}]}}",
    )
    [problem] = problems(text)
    assert "services[0].environments.production.health.dependencies[0]" in problem
    assert "a tcp check needs host and port" in problem


def test_empty_file_is_an_empty_catalog() -> None:
    catalog = parse_catalog("")
    assert catalog.services == []
    assert catalog.severity("P2").reminder_minutes == 60
