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

from typing import Literal

from pydantic import Field

from bot.catalog.base import StrictModel
from bot.catalog.services import SeverityName, Slug


def _default_severities() -> list[SeverityName]:
    return ["P0", "P1"]


class DeployGate(StrictModel):
    """Which open incidents close the gate, for which environments, and how long overrides last."""

    severities: list[SeverityName] = Field(default_factory=_default_severities)
    scope: Literal["service", "all"] = "service"
    envs: list[Slug] = Field(default_factory=lambda: ["production"])
    override_minutes: int = Field(default=30, ge=1, le=24 * 60)
    max_override_minutes: int = Field(default=240, ge=1, le=7 * 24 * 60)
