"""The runbook YAML format: a name, a description, and ordered steps with parameters and conditions.

```yaml
name: service-down
description: The service is down. Check it, see what serves, propose a rollback.
services: [checkout]          # optional: the services it applies to (default: any)
steps:
  - id: health                # referred to by later conditions
    use: deep_health          # a step from runbooks/registry.py
    title: Check deep health  # optional
  - id: rollback
    use: rollback
    when: health is unhealthy # optional condition on earlier results
    confirm: true             # optional: wait for a person to click "Run step"
    with: {steps: 1}          # the step's parameters
```
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_ID = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_NAME = re.compile(r"^[a-z][a-z0-9-]{0,62}$")


class StepSpec(BaseModel):
    """One step as written in YAML."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    id: str
    use: str
    title: str = ""
    params: dict[str, Any] = Field(default_factory=dict, alias="with")
    when: str | None = None
    confirm: bool = False
    continue_on_error: bool = False
    timeout_seconds: float = Field(default=3600.0, gt=0, le=24 * 3600)

    @field_validator("id")
    @classmethod
    def _id_shape(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError("must be lower-case letters, digits and underscores, like check_health")
        return value

    @property
    def label(self) -> str:
        """The title, or the step type when there is none."""
        return self.title or self.use.replace("_", " ")


class Runbook(BaseModel):
    """A whole runbook definition."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str = ""
    services: list[str] = []
    steps: list[StepSpec] = Field(min_length=1, max_length=30)

    @field_validator("name")
    @classmethod
    def _name_shape(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError("must be lower-case letters, digits and dashes, like service-down")
        return value

    @model_validator(mode="after")
    def _unique_ids(self) -> Runbook:
        ids = [s.id for s in self.steps]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"step ids must be unique; repeated: {', '.join(dupes)}")
        return self

    def applies_to(self, service: str) -> bool:
        """True when the runbook may run against `service`."""
        return not self.services or service in self.services
