"""The catalog: everything Flare knows about services, teams and policy, loaded from YAML."""

from __future__ import annotations

from pydantic import model_validator

from bot.catalog.alertmanager import AlertmanagerSettings
from bot.catalog.base import StrictModel
from bot.catalog.console import ConsoleAccess
from bot.catalog.deploys import DeploySettings
from bot.catalog.incidents import IncidentSettings
from bot.catalog.paging import PagingPolicy
from bot.catalog.rbac import EnvironmentAccess, RollbackPolicy
from bot.catalog.routing import Routing
from bot.catalog.services import (
    DEFAULT_SEVERITIES,
    Channels,
    Environment,
    Service,
    Severity,
    SeverityName,
    SeverityOverride,
    Slug,
    Team,
)
from bot.catalog.webhooks import Webhooks


class Catalog(StrictModel):
    """The whole catalog file."""

    services: list[Service] = []
    teams: dict[str, Team] = {}
    severities: dict[SeverityName, SeverityOverride] = {}
    channels: Channels = Channels()
    incidents: IncidentSettings = IncidentSettings()
    rbac: dict[Slug, EnvironmentAccess] = {}
    rollback: RollbackPolicy = RollbackPolicy()
    routes: Routing = Routing()
    webhooks: Webhooks = Webhooks()
    deploys: DeploySettings = DeploySettings()
    paging: PagingPolicy = PagingPolicy()
    console: ConsoleAccess = ConsoleAccess()
    alertmanager: AlertmanagerSettings | None = None

    @model_validator(mode="after")
    def _unique_service_names(self) -> Catalog:
        names = [s.name for s in self.services]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"service names must be unique; repeated: {', '.join(dupes)}")
        return self

    def severity(self, name: SeverityName) -> Severity:
        """The effective definition of a severity, defaults merged with overrides."""
        base = DEFAULT_SEVERITIES[name]
        override = self.severities.get(name)
        return override.apply(base) if override else base

    def service(self, name: str) -> Service | None:
        """The service called `name`, if the catalog has one."""
        return next((s for s in self.services if s.name == name), None)

    def environment(self, service: str, env: str) -> Environment | None:
        """Where `service` runs in `env`, if both are known."""
        svc = self.service(service)
        return svc.environments.get(env) if svc else None

    def team_for(self, service: str) -> Team | None:
        """The team that owns `service`."""
        svc = self.service(service)
        return self.teams.get(svc.team) if svc else None
