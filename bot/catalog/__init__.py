"""The YAML catalog: services, teams, severities, channels and policy."""

from bot.catalog.loader import load_catalog, parse_catalog
from bot.catalog.model import Catalog
from bot.catalog.services import SEVERITY_ORDER, Environment, Service, Severity, SeverityName, Team
from bot.catalog.yamlpath import ConfigError, ConfigProblem

__all__ = [
    "SEVERITY_ORDER",
    "Catalog",
    "ConfigError",
    "ConfigProblem",
    "Environment",
    "Service",
    "Severity",
    "SeverityName",
    "Team",
    "load_catalog",
    "parse_catalog",
]
