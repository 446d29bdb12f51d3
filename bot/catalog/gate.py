"""The deploy gate policy (`deploys.gate` in the catalog): which open incidents block deploys.

```yaml
deploys:
  gate:
    severities: [P0, P1]
    scope: service        # or all: any gated incident blocks every service
    envs: [production]    # deploys to other environments are never gated
```
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from bot.catalog.base import StrictModel
from bot.catalog.services import SeverityName, Slug

if TYPE_CHECKING:
    from bot.catalog.model import Catalog


def _default_severities() -> list[SeverityName]:
    return ["P0", "P1"]


class DeployGate(StrictModel):
    """Which open incidents close the gate, for which environments, and how long overrides last."""

    severities: list[SeverityName] = Field(default_factory=_default_severities)
    scope: Literal["service", "all"] = "service"
    envs: list[Slug] = Field(default_factory=lambda: ["production"])
    override_minutes: int = Field(default=30, ge=1, le=24 * 60)
    max_override_minutes: int = Field(default=240, ge=1, le=7 * 24 * 60)


def gate_problems(catalog: Catalog) -> Iterable[tuple[tuple[str | int, ...], str]]:
    """Gated environments must exist on some service (typos would silently open the gate)."""
    known = {env for service in catalog.services for env in service.environments}
    if not catalog.services or "envs" not in catalog.deploys.gate.model_fields_set:
        return
    for i, env in enumerate(catalog.deploys.gate.envs):
        if env not in known:
            names = ", ".join(sorted(known))
            yield ("deploys", "gate", "envs", i), f"no service has an environment called {env!r} ({names})"
