"""`flare check-config` checks of PagerDuty settings that the schema alone cannot make."""

from __future__ import annotations

from pathlib import Path

from bot.catalog import Catalog
from bot.catalog.yamlpath import ConfigProblem, LocatedYaml
from bot.settings import environment


def config_check(catalog: Catalog, path: Path) -> list[str]:
    """Unset secret variables and half-configured on-call lookups, one line each (file:line, YAML path)."""
    try:
        located = LocatedYaml(str(path), path.read_text(encoding="utf-8"))
    except OSError:
        return []
    env = environment()
    problems: list[ConfigProblem] = []
    for name, team in catalog.teams.items():
        pd = team.pagerduty
        if pd is None:
            continue
        where = ("teams", name, "pagerduty")
        if not env.get(pd.routing_key_env, "").strip():
            problems.append(
                located.problem(
                    (*where, "routing_key_env"),
                    f"team {name}: {pd.routing_key_env} is not set, so its pages would fail; set it to the "
                    "Events API v2 integration key of the team's PagerDuty service",
                )
            )
        if pd.api_token_env and not env.get(pd.api_token_env, "").strip():
            problems.append(
                located.problem(
                    (*where, "api_token_env"),
                    f"team {name}: {pd.api_token_env} is not set; "
                    "set it to a read-only PagerDuty REST API key",
                )
            )
        if bool(pd.api_token_env) != bool(pd.escalation_policy):
            missing = "escalation_policy" if pd.api_token_env else "api_token_env"
            problems.append(
                located.problem(
                    (*where, missing),
                    f"team {name}: `/incident oncall` needs both api_token_env and escalation_policy",
                )
            )
    severities = catalog.paging.on_declare
    if len(set(severities)) != len(severities):
        problems.append(located.problem(("paging", "on_declare"), "a severity is listed twice"))
    return [str(p) for p in problems]
