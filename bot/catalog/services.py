"""Services, teams and severities: who owns what, where it runs, how to check it."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from bot.catalog.base import ChannelId, StrictModel, UserGroupId, UserId
from bot.catalog.paging import TeamPagerDuty

SeverityName = Literal["P0", "P1", "P2", "P3"]
SEVERITY_ORDER: tuple[SeverityName, ...] = ("P0", "P1", "P2", "P3")

_SLUG = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
_PROJECT = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
_REGION = re.compile(r"^[a-z]+-[a-z]+[0-9]+$")
_RUN_SERVICE = re.compile(r"^[a-z](?:[-a-z0-9]{0,47}[a-z0-9])?$")


def _matches(pattern: re.Pattern[str], hint: str) -> AfterValidator:
    def check(value: str) -> str:
        if not pattern.match(value):
            raise ValueError(hint)
        return value

    return AfterValidator(check)


Slug = Annotated[str, _matches(_SLUG, "must be lower-case letters, digits and dashes, like checkout-api")]
ProjectId = Annotated[str, _matches(_PROJECT, "must be a GCP project ID like acme-prod")]
Region = Annotated[str, _matches(_REGION, "must be a Cloud Run region like us-central1")]
RunServiceName = Annotated[
    str, _matches(_RUN_SERVICE, "must be a Cloud Run service name: lower-case, digits, dashes, <= 49 chars")
]


class DependencyCheck(StrictModel):
    """A probe of something the service depends on, run by deep health."""

    name: Slug
    type: Literal["http", "tcp"]
    url: str | None = None
    host: str | None = None
    port: int | None = Field(default=None, ge=1, le=65535)
    expect_status: int = Field(default=200, ge=100, le=599)
    critical: bool = True
    timeout_seconds: float = Field(default=2.0, gt=0, le=30)

    @model_validator(mode="after")
    def _target_matches_type(self) -> DependencyCheck:
        if self.type == "http":
            if not self.url or not self.url.startswith(("http://", "https://")):
                raise ValueError("an http check needs url: http(s)://...")
        elif not self.host or self.port is None:
            raise ValueError("a tcp check needs host and port")
        return self


class HealthSettings(StrictModel):
    """Where a service reports its own health, and what else to probe."""

    url: str | None = None
    timeout_seconds: float = Field(default=3.0, gt=0, le=30)
    critical: bool = True
    dependencies: list[DependencyCheck] = []

    @model_validator(mode="after")
    def _url_is_http(self) -> HealthSettings:
        if self.url is not None and not self.url.startswith(("http://", "https://")):
            raise ValueError("url must start with http:// or https://")
        names = [d.name for d in self.dependencies]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"dependency names must be unique; repeated: {', '.join(dupes)}")
        return self


class Environment(StrictModel):
    """Where one environment of a service runs on Cloud Run."""

    project: ProjectId
    region: Region
    service: RunServiceName
    health: HealthSettings | None = None
    watch: bool = False


class Service(StrictModel):
    """A service Flare knows: its owner and its environments."""

    name: Slug
    team: Slug
    description: str = ""
    environments: dict[Slug, Environment] = Field(min_length=1)


class Team(StrictModel):
    """A team: its Slack channel and who responds."""

    channel: ChannelId
    responders: list[UserId] = []
    user_group: UserGroupId | None = None
    pagerduty: TeamPagerDuty | None = None


class Severity(StrictModel):
    """What a severity means and how often the channel must hear an update."""

    description: str
    reminder_minutes: int | None = Field(default=None, ge=1)


class SeverityOverride(StrictModel):
    """A catalog override of a default severity; unset fields keep the default."""

    description: str | None = None
    reminder_minutes: int | None = Field(default=None, ge=1)

    def apply(self, base: Severity) -> Severity:
        """The default severity with this override's explicitly set fields applied."""
        fields = {k: getattr(self, k) for k in self.model_fields_set}
        if fields.get("description") is None:
            fields.pop("description", None)
        return base.model_copy(update=fields)


DEFAULT_SEVERITIES: dict[SeverityName, Severity] = {
    "P0": Severity(description="Critical: service down, data loss, security breach", reminder_minutes=15),
    "P1": Severity(description="High: degraded performance, partial outage", reminder_minutes=30),
    "P2": Severity(description="Medium: non-critical feature broken", reminder_minutes=60),
    "P3": Severity(description="Low: minor bug, cosmetic issue", reminder_minutes=None),
}


class Channels(StrictModel):
    """Where incidents are announced and deploys are posted."""

    announcements: ChannelId | None = None
    deployments: ChannelId | None = None
