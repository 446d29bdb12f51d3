"""Who may change traffic in each environment: the catalog's `rbac` section.

```yaml
rbac:
  production:
    users: [U0BOB0001]
    user_groups: [S0PAYONCALL]
  staging:
    open: true
```
An environment that is not listed is closed: nobody may confirm changes there.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from pydantic import Field, model_validator

from bot.catalog.base import StrictModel, UserGroupId, UserId


class EnvironmentAccess(StrictModel):
    """Who may confirm rollbacks and traffic changes in one environment."""

    users: list[UserId] = []
    user_groups: list[UserGroupId] = []
    open: bool = False

    @model_validator(mode="after")
    def _not_empty(self) -> EnvironmentAccess:
        if not self.open and not self.users and not self.user_groups:
            raise ValueError("list users and/or user_groups, or set open: true")
        return self


class RollbackPolicy(StrictModel):
    """How rollbacks and traffic changes are carried out and verified."""

    settle_seconds: float = Field(default=30.0, ge=0, le=600)
    operation_timeout_seconds: float = Field(default=300.0, gt=0, le=1800)
    loop_window_minutes: int = Field(default=30, ge=0, le=24 * 60)
    # A proposal not confirmed within this many minutes expires; Confirm then refuses it.
    proposal_ttl_minutes: float = Field(default=15, gt=0, le=24 * 60)


Verdict = Literal["allowed", "denied", "ask_groups"]


@dataclass(frozen=True)
class AccessDecision:
    """The local answer to "may this user change this environment?"."""

    verdict: Verdict
    groups: tuple[str, ...] = ()
    reason: str = ""


def decide(rbac: dict[str, EnvironmentAccess], env: str, user: str) -> AccessDecision:
    """Decide from the catalog alone; `ask_groups` means membership of `groups` must be looked up."""
    access = rbac.get(env)
    if access is None:
        return AccessDecision(
            "denied", reason=f"nobody may change {env}: the catalog has no rbac.{env} entry"
        )
    if access.open or user in access.users:
        return AccessDecision("allowed")
    if access.user_groups:
        return AccessDecision("ask_groups", tuple(access.user_groups))
    return AccessDecision("denied", reason=f"you are not listed in rbac.{env}.users")


def decide_with_groups(
    decision: AccessDecision, user: str, members: Mapping[str, Iterable[str]], env: str
) -> AccessDecision:
    """Finish an `ask_groups` decision with each group's members."""
    if decision.verdict != "ask_groups":
        return decision
    for group in decision.groups:
        if user in set(members.get(group, ())):
            return AccessDecision("allowed")
    return AccessDecision(
        "denied", reason=f"you are not listed in rbac.{env}.users nor a member of its user groups"
    )


def rbac_environments_exist(
    rbac: dict[str, EnvironmentAccess], known: set[str]
) -> Iterable[tuple[tuple[str | int, ...], str]]:
    """Problems for rbac entries naming an environment no service has (typos)."""
    for env in rbac:
        if env not in known:
            names = ", ".join(sorted(known)) or "none defined"
            yield ("rbac", env), f"no service has an environment called {env!r} (environments: {names})"
