"""Loading and validating runbook YAML: the built-in ones, and a team's own from `FLARE_RUNBOOKS_DIR`
(by default `runbooks/` next to the catalog).

Every problem names the file, the YAML path and line, and what is wrong: unknown steps, unknown
or invalid parameters, conditions on steps that do not exist, and services the catalog lacks.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from bot.catalog import Catalog
from bot.catalog.yamlpath import ConfigError, ConfigProblem, LocatedYaml
from runbooks.conditions import ConditionError, check, parse
from runbooks.definition import Runbook
from runbooks.steps import registry

BUILTIN_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Loaded:
    """A valid runbook and the file it came from."""

    runbook: Runbook
    file: str


@dataclass
class Library:
    """Every runbook that loaded, and every problem found."""

    runbooks: dict[str, Loaded] = field(default_factory=dict)
    problems: list[ConfigProblem] = field(default_factory=list)

    def get(self, name: str) -> Runbook | None:
        """The runbook called `name`."""
        loaded = self.runbooks.get(name.lower())
        return loaded.runbook if loaded else None


RUNBOOKS_DIR_VARIABLE = "FLARE_RUNBOOKS_DIR"


def split_dirs(value: str) -> list[Path]:
    """The folders in a FLARE_RUNBOOKS_DIR value: one, or several separated by ':'."""
    return [Path(part) for part in value.split(os.pathsep) if part.strip()]


def configured_dirs() -> list[Path] | None:
    """The runbook folders named by FLARE_RUNBOOKS_DIR, or None when it is unset."""
    value = os.environ.get(RUNBOOKS_DIR_VARIABLE, "")
    return split_dirs(value) or None


def runbook_dirs(catalog_path: Path | None, runbooks_dirs: list[Path] | None = None) -> list[Path]:
    """Where runbooks are read from: built-ins first, then the team's own folders (overrides).

    The team's folders are `runbooks_dirs` when given (FLARE_RUNBOOKS_DIR), else `runbooks/` beside
    the catalog when that exists.
    """
    dirs = [BUILTIN_DIR]
    if runbooks_dirs is not None:
        custom = [d.resolve() for d in runbooks_dirs]
    elif catalog_path is not None and (catalog_path.resolve().parent / "runbooks").is_dir():
        custom = [catalog_path.resolve().parent / "runbooks"]
    else:
        custom = []
    dirs += [d for d in custom if d != BUILTIN_DIR and d not in dirs]
    return dirs


def load_library(
    catalog: Catalog, catalog_path: Path | None, runbooks_dirs: list[Path] | None = None
) -> Library:
    """Load and validate every runbook file (a named folder that is missing is a problem)."""
    library = Library()
    if runbooks_dirs is not None:
        for missing in (d for d in runbooks_dirs if not d.is_dir()):
            library.problems.append(
                ConfigProblem(
                    str(missing), "", None, f"{RUNBOOKS_DIR_VARIABLE} names a folder that does not exist"
                )
            )
        runbooks_dirs = [d for d in runbooks_dirs if d.is_dir()]
    for directory in runbook_dirs(catalog_path, runbooks_dirs):
        for path in sorted(directory.glob("*.yaml")):
            try:
                text = path.read_text(encoding="utf-8")
            except OSError as exc:
                library.problems.append(ConfigProblem(str(path), "", None, f"cannot read: {exc.strerror}"))
                continue
            runbook, problems = validate_text(text, str(path), catalog)
            library.problems.extend(problems)
            if runbook is not None and not problems:
                library.runbooks[runbook.name] = Loaded(runbook, str(path))
    return library


def validate_text(text: str, file: str, catalog: Catalog) -> tuple[Runbook | None, list[ConfigProblem]]:
    """Parse one runbook file; (the runbook if its schema is valid, every problem found)."""
    try:
        located = LocatedYaml(file, text)
    except ConfigError as exc:
        return None, list(exc.problems)
    if not isinstance(located.data, dict):
        return None, [
            ConfigProblem(file, "", 1, "a runbook must be a mapping with name, description and steps")
        ]
    try:
        runbook = Runbook.model_validate(located.data)
    except ValidationError as exc:
        return None, [_schema_problem(located, err) for err in exc.errors(include_url=False)]
    return runbook, semantic_problems(runbook, located, catalog)


def semantic_problems(runbook: Runbook, located: LocatedYaml, catalog: Catalog) -> list[ConfigProblem]:
    """Unknown steps and parameters, unsound conditions, unknown services."""
    problems: list[ConfigProblem] = []
    steps = registry()
    known_services = {s.name for s in catalog.services}
    for i, service in enumerate(runbook.services):
        if service not in known_services:
            problems.append(located.problem(("services", i), _unknown_service(service, known_services)))
    earlier: dict[str, tuple[frozenset[str], frozenset[str]]] = {}
    for i, spec in enumerate(runbook.steps):
        here: tuple[str | int, ...] = ("steps", i)
        step_type = steps.get(spec.use)
        if step_type is None:
            names = ", ".join(sorted(steps))
            problems.append(located.problem((*here, "use"), f"unknown step '{spec.use}' (steps: {names})"))
        else:
            try:
                params = step_type.params.model_validate(spec.params)
            except ValidationError as exc:
                for err in exc.errors(include_url=False):
                    loc = tuple(p for p in err["loc"] if p != "[key]")
                    message = str(err["msg"]).removeprefix("Value error, ")
                    if err["type"] == "extra_forbidden":
                        allowed = ", ".join(step_type.params.model_fields) or "none"
                        message = f"unknown parameter '{loc[-1]}' for {spec.use} (parameters: {allowed})"
                    elif err["type"] == "missing":
                        message = f"{spec.use} needs parameter '{loc[-1]}'"
                    problems.append(located.problem((*here, "with", *loc), message))
            else:
                problems.extend(_service_params(located, here, params, step_type.service_params, catalog))
        if spec.when is not None:
            try:
                condition = parse(spec.when)
            except ConditionError as exc:
                problems.append(located.problem((*here, "when"), str(exc)))
            else:
                for problem in check(condition, earlier):
                    problems.append(located.problem((*here, "when"), problem))
        if step_type is not None:
            earlier[spec.id] = (step_type.all_statuses(), step_type.fields)
    return problems


def _service_params(
    located: LocatedYaml, here: tuple[str | int, ...], params: Any, names: tuple[str, ...], catalog: Catalog
) -> list[ConfigProblem]:
    problems = []
    known = {s.name for s in catalog.services}
    for name in names:
        service = getattr(params, name, None)
        if service is None:
            continue
        if service not in known:
            problems.append(located.problem((*here, "with", name), _unknown_service(service, known)))
            continue
        env = getattr(params, "env", None)
        if env is not None and catalog.environment(service, env) is None:
            problems.append(located.problem((*here, "with", "env"), f"{service} has no environment '{env}'"))
    return problems


def _unknown_service(service: str, known: set[str]) -> str:
    return f"unknown service '{service}' (catalog services: {', '.join(sorted(known)) or 'none'})"


def _schema_problem(located: LocatedYaml, err: Any) -> ConfigProblem:
    loc = tuple(p for p in err["loc"] if p != "[key]")
    message = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        message = f"unknown key '{loc[-1]}'"
    elif err["type"] == "missing":
        message = f"missing required key '{loc[-1]}'"
    return located.problem(loc, message)


def config_check(catalog: Catalog, path: Path) -> list[str]:
    """`flare check-config`: every runbook problem, one line each (FLARE_RUNBOOKS_DIR honoured)."""
    return [str(p) for p in load_library(catalog, path, configured_dirs()).problems]
