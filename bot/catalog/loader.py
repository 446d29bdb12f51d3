"""Load and validate the catalog file, reporting every problem with its YAML path and line."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from pydantic import ValidationError

from bot.catalog.checks import alertmanager_problems, gate_problems, routing_problems, webhook_problems
from bot.catalog.model import Catalog
from bot.catalog.partial import cross_problems
from bot.catalog.rbac import rbac_environments_exist
from bot.catalog.yamlpath import ConfigError, ConfigProblem, LocatedYaml

# Cross-reference checks run after the schema is valid. Each yields (path, problem).
CrossCheck = Callable[[Catalog], Iterable[tuple[tuple[str | int, ...], str]]]


def _service_teams_exist(catalog: Catalog) -> Iterable[tuple[tuple[str | int, ...], str]]:
    for i, service in enumerate(catalog.services):
        if service.team not in catalog.teams:
            known = ", ".join(sorted(catalog.teams)) or "none defined"
            yield ("services", i, "team"), f"unknown team {service.team!r} (teams: {known})"


def _rbac_environments_exist(catalog: Catalog) -> Iterable[tuple[tuple[str | int, ...], str]]:
    known = {env for service in catalog.services for env in service.environments}
    return rbac_environments_exist(catalog.rbac, known)


CROSS_CHECKS: list[CrossCheck] = [
    _service_teams_exist,
    routing_problems,
    webhook_problems,
    _rbac_environments_exist,
    alertmanager_problems,
    gate_problems,
]


def parse_catalog(text: str, file: str = "<catalog>") -> Catalog:
    """Parse catalog YAML text; raise ConfigError naming file, YAML path and problem."""
    located = LocatedYaml(file, text)
    if not isinstance(located.data, dict):
        raise ConfigError(
            [ConfigProblem(file, "", 1, "the catalog must be a mapping (key: value) at the top")]
        )
    try:
        catalog = Catalog.model_validate(located.data)
    except ValidationError as exc:
        problems = [_problem(located, err) for err in exc.errors(include_url=False)]
        # Report the cross-check problems of the rest of the file in the same run.
        problems += [
            located.problem(path, msg) for path, msg in cross_problems(located.data, exc, CROSS_CHECKS)
        ]
        raise ConfigError(problems) from None
    problems = [located.problem(path, msg) for check in CROSS_CHECKS for path, msg in check(catalog)]
    if problems:
        raise ConfigError(problems)
    return catalog


def load_catalog(path: Path) -> Catalog:
    """Read and parse the catalog file at `path`."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            [ConfigProblem(str(path), "", None, "file not found (copy flare.example.yaml to start)")]
        ) from None
    except OSError as exc:
        raise ConfigError([ConfigProblem(str(path), "", None, f"cannot read: {exc.strerror}")]) from None
    return parse_catalog(text, str(path))


def _problem(located: LocatedYaml, err: object) -> ConfigProblem:
    assert isinstance(err, dict)
    loc = tuple(p for p in err["loc"] if p != "[key]")
    kind = err["type"]
    message = str(err["msg"]).removeprefix("Value error, ")
    if kind == "extra_forbidden":
        message = f"unknown key {loc[-1]!r}"
    elif kind == "missing":
        message = f"missing required key {loc[-1]!r}"
    elif kind == "literal_error":
        message = f"{message}, got {err.get('input')!r}"
    return located.problem(loc, message)
