"""Resolve a catalog service name and environment to where it runs on Cloud Run."""

from __future__ import annotations

from dataclasses import dataclass

from bot.catalog import Catalog, Environment
from bot.cloudrun.models import ServiceRef

DEFAULT_ENV = "production"


class UnknownTarget(ValueError):
    """The service or environment is not in the catalog; the message lists what is."""


@dataclass(frozen=True)
class Target:
    """A catalog service in one environment."""

    service: str
    env: str
    environment: Environment

    @property
    def ref(self) -> ServiceRef:
        """The Cloud Run service this target is."""
        e = self.environment
        return ServiceRef(e.project, e.region, e.service)

    @property
    def label(self) -> str:
        """'checkout (production)'."""
        return f"{self.service} ({self.env})"


def resolve(catalog: Catalog, service: str, env: str | None = None) -> Target:
    """The target for `service` in `env` (default production); UnknownTarget names the choices."""
    env = (env or DEFAULT_ENV).lower()
    svc = catalog.service(service.lower())
    if svc is None:
        known = ", ".join(s.name for s in catalog.services) or "none: add services to the catalog"
        raise UnknownTarget(f"unknown service '{service[:60]}' (services: {known})")
    environment = svc.environments.get(env)
    if environment is None:
        envs = ", ".join(sorted(svc.environments))
        raise UnknownTarget(f"{svc.name} has no environment '{env[:40]}' (environments: {envs})")
    return Target(svc.name, env, environment)


def targets_in(catalog: Catalog, env: str | None = None) -> list[Target]:
    """Every catalog service that runs in `env`, in catalog order."""
    env = (env or DEFAULT_ENV).lower()
    return [Target(s.name, env, s.environments[env]) for s in catalog.services if env in s.environments]
