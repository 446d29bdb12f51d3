"""Where Flare creates silences (`alertmanager` in the catalog) and which matchers a service's use.

```yaml
alertmanager:
  urls: [http://alertmanager-0:9093, http://alertmanager-1:9093]   # HA: the first that answers
  token_env: FLARE_ALERTMANAGER_TOKEN      # or username + password_env (basic auth)
  env_label: env                           # adds env="<environment>" to the default matchers
  silence_matchers:
    checkout: ['job="checkout"', 'namespace=~"shop|shop-canary"']
```
The default matchers of a service are `service="<name>"` (plus the environment label when set).
Matchers use the same parser as routes, so a bad one is a config error with file:line.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, model_validator

from bot.catalog.base import StrictModel
from bot.catalog.routing import LabelName, MatcherText
from bot.catalog.services import Slug
from bot.catalog.webhooks import EnvName


def _http_url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://, like http://alertmanager:9093")
    return value.rstrip("/")


HttpUrl = Annotated[str, AfterValidator(_http_url)]


class AlertmanagerSettings(StrictModel):
    """How to reach Alertmanager's v2 API and what a service's silences match."""

    urls: list[HttpUrl] = Field(min_length=1, max_length=10)
    token_env: EnvName | None = None  # Authorization: Bearer <value of this variable>
    username: str | None = None  # basic auth user ...
    password_env: EnvName | None = None  # ... and the variable holding its password
    # Every call gets this long (the 2 s budget), across all URLs.
    timeout_seconds: float = Field(default=2.0, gt=0, le=2.0)
    env_label: LabelName | None = None
    silence_matchers: dict[Slug, list[MatcherText]] = {}
    # "Until resolved" silences from Slack end after this long at the latest.
    until_resolved_max_hours: int = Field(default=24, ge=1, le=24 * 14)

    @model_validator(mode="after")
    def _one_auth(self) -> AlertmanagerSettings:
        if bool(self.username) != bool(self.password_env):
            raise ValueError("basic auth needs both username and password_env")
        if self.token_env and self.username:
            raise ValueError("give token_env or username + password_env, not both")
        return self
