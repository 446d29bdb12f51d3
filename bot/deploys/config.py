"""`flare check-config` checks of the `deploys` section that the schema alone cannot make."""

from __future__ import annotations

from pathlib import Path

from bot.catalog import Catalog
from bot.catalog.yamlpath import ConfigProblem, LocatedYaml


def config_check(catalog: Catalog, path: Path) -> list[str]:
    """Problems with the deploys settings, one line each (file, YAML path, line, problem)."""
    settings = catalog.deploys
    try:
        located = LocatedYaml(str(path), path.read_text(encoding="utf-8"))
    except OSError:
        return []
    problems: list[ConfigProblem] = []
    if "incident_envs" in settings.model_fields_set:
        known = sorted({env for service in catalog.services for env in service.environments})
        for i, env in enumerate(settings.incident_envs):
            if env not in known:
                problems.append(
                    located.problem(
                        ("deploys", "incident_envs", i),
                        f"no service has an environment '{env}' (environments: {', '.join(known) or 'none'})",
                    )
                )
    if settings.token_env and not catalog.channels.deployments and not settings.team_channel:
        problems.append(
            located.problem(
                ("deploys", "team_channel"),
                "deploys would not be posted anywhere: set channels.deployments or team_channel: true",
            )
        )
    return [str(p) for p in problems]
