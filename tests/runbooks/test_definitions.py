"""Runbook YAML validation (what `flare check-config` reports) and conditions."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.catalog import parse_catalog
from handlers.cli import main
from runbooks.conditions import ConditionError, Outcome, evaluate, parse
from runbooks.loader import BUILTIN_DIR, load_library, validate_text
from tests.runbooks.helpers import write_runbook

BROKEN = """
name: broken
services: [checkout, nosuch]
steps:
  - id: health
    use: deep_health
    with: {service: ghost}
  - id: typo
    use: deep_healht
  - id: revisions
    use: list_revisions
    with: {limit: 5, colour: red}
  - id: roll
    use: rollback
    when: health is on_fire
  - id: split
    use: traffic_split
    with: {splits: {latest: 10, serving: 80}}
    when: later is healthy
  - id: pause
    use: wait
  - id: odd
    use: post_message
    with: {text: hi}
    when: revisions.colour > 3
"""


def test_shipped_runbooks_are_valid(catalog_text: str) -> None:
    catalog = parse_catalog(catalog_text)
    library = load_library(catalog, None)
    assert library.problems == []
    assert {"service-down", "bad-deploy"} <= set(library.runbooks)
    assert {p.name for p in BUILTIN_DIR.glob("*.yaml")} >= {"service-down.yaml", "bad-deploy.yaml"}


def test_every_problem_is_named_with_file_path_and_line(catalog_text: str) -> None:
    runbook, problems = validate_text(BROKEN, "runbooks/broken.yaml", parse_catalog(catalog_text))
    assert runbook is not None
    text = "\n".join(str(p) for p in problems)
    expected = [
        "runbooks/broken.yaml:3: services[1]: unknown service 'nosuch'",
        "runbooks/broken.yaml:7: steps[0].with.service: unknown service 'ghost'",
        "runbooks/broken.yaml:9: steps[1].use: unknown step 'deep_healht'",
        "steps[2].with.colour: unknown parameter 'colour' for list_revisions",
        "steps[3].when: step 'health' never has status 'on_fire'",
        "steps[4].with.splits: the percentages add up to 90, not 100",
        "steps[4].when: 'later' is not an earlier step",
        "steps[5].with.seconds: wait needs parameter 'seconds'",
        "steps[6].when: step 'revisions' has no field 'colour'",
    ]
    for line in expected:
        assert line in text, f"missing: {line}\n--- got:\n{text}"
    assert len(problems) == len(expected)


def test_schema_errors_are_reported(catalog_text: str) -> None:
    _runbook, problems = validate_text(
        "name: Bad Name\nsteps:\n  - id: x\n    use: wait\n    colour: 1\n",
        "r.yaml",
        parse_catalog(catalog_text),
    )
    text = "\n".join(str(p) for p in problems)
    assert "r.yaml:1: name: must be lower-case" in text
    assert "r.yaml:5: steps[0].colour: unknown key 'colour'" in text
    _runbook, problems = validate_text("steps: [", "r.yaml", parse_catalog(catalog_text))
    assert "not valid YAML" in str(problems[0])


def test_check_config_validates_runbooks_beside_the_catalog(
    catalog_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check-config", str(catalog_path)]) == 0
    assert "OK" in capsys.readouterr().out
    write_runbook(catalog_path, "broken", BROKEN)
    assert main(["check-config", str(catalog_path)]) == 1
    out = capsys.readouterr().out
    assert "broken.yaml:9: steps[1].use: unknown step 'deep_healht'" in out
    assert "9 problem(s)" in out


def test_a_custom_runbook_overrides_a_builtin_one(catalog_path: Path, catalog_text: str) -> None:
    write_runbook(
        catalog_path, "service-down", "name: service-down\nsteps:\n  - id: only\n    use: deep_health\n"
    )
    library = load_library(parse_catalog(catalog_text), catalog_path)
    runbook = library.get("service-down")
    assert runbook is not None
    assert [s.id for s in runbook.steps] == ["only"]


def test_conditions() -> None:
    results = {
        "health": Outcome("unhealthy", {"failing": 2}),
        "revisions": Outcome("ok", {"has_rollback_target": "yes", "count": 4}),
    }
    assert evaluate(parse("health is unhealthy"), results)
    assert not evaluate(parse("health is not unhealthy"), results)
    assert evaluate(parse("health is unhealthy and revisions.count >= 4"), results)
    assert not evaluate(parse("health is healthy and revisions.count >= 4"), results)
    assert evaluate(parse("health is healthy or revisions.has_rollback_target == yes"), results)
    assert evaluate(parse("health.failing > 1"), results)
    assert evaluate(parse("rollback is skipped"), results)  # a step that never ran
    assert not evaluate(parse("rollback.change > 0"), results)
    for bad in ("", "health unhealthy", "health is unhealthy and x is y or z is w", "health.failing ~ 2"):
        with pytest.raises(ConditionError):
            parse(bad)
