"""PagerDuty per team (`teams.<name>.pagerduty`) and which severities page (`paging`).

The catalog never holds a secret: it names the environment variables that do (`*_env`).
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from bot.catalog.base import StrictModel

_ENV = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_PD_ID = re.compile(r"^P[A-Z0-9]{5,}$")


def _env_name(value: str) -> str:
    if not _ENV.match(value):
        raise ValueError("must be an environment variable name like FLARE_PD_PAYMENTS_KEY")
    return value


def _pd_id(value: str) -> str:
    if not _PD_ID.match(value):
        raise ValueError("must be a PagerDuty escalation policy ID like PABC123")
    return value


PagingSeverity = Literal["P0", "P1", "P2", "P3"]
_DEFAULT_ON_DECLARE: tuple[PagingSeverity, ...] = ("P0", "P1")


class TeamPagerDuty(StrictModel):
    """How to page one team: an Events API v2 integration key, and optionally who is on call."""

    routing_key_env: Annotated[str, AfterValidator(_env_name)]
    api_token_env: Annotated[str, AfterValidator(_env_name)] | None = None
    escalation_policy: Annotated[str, AfterValidator(_pd_id)] | None = None


class PagingPolicy(StrictModel):
    """Which declared severities page the owning team, and whether raising to one does."""

    on_declare: list[PagingSeverity] = Field(default_factory=lambda: list(_DEFAULT_ON_DECLARE))
    on_severity_raise: bool = True
