"""Per-source webhook authentication (`webhooks` in the catalog).

The catalog never holds a secret: it names the environment variables that do (`*_env`).
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field

from bot.catalog.base import StrictModel

_ENV = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_HEADER = re.compile(r"^[A-Za-z0-9-]{1,64}$")


def _env_name(value: str) -> str:
    if not _ENV.match(value):
        raise ValueError("must be an environment variable name like FLARE_ALERTMANAGER_TOKEN")
    return value


def _header_name(value: str) -> str:
    if not _HEADER.match(value):
        raise ValueError("must be an HTTP header name like X-Grafana-Alerting-Signature")
    return value


EnvName = Annotated[str, AfterValidator(_env_name)]
HeaderName = Annotated[str, AfterValidator(_header_name)]


class WebhookAuth(StrictModel):
    """How one source proves who it is. Which fields apply depends on the source (see docs/alerts.md)."""

    token_env: EnvName | None = None  # Authorization: Bearer <token> (or ?token= where allowed)
    username: str | None = None  # HTTP basic auth user ...
    password_env: EnvName | None = None  # ... and the variable holding its password
    secret_env: EnvName | None = None  # HMAC signing secret (Grafana, Sentry, PagerDuty)
    signature_header: HeaderName = "X-Grafana-Alerting-Signature"  # Grafana only
    timestamp_header: HeaderName = "X-Grafana-Alerting-Timestamp"  # Grafana only
    require_timestamp: bool = False  # Grafana only: refuse signatures without a timestamp
    max_age_seconds: int = Field(default=300, ge=10, le=3600)
    max_body_bytes: int | None = Field(default=None, ge=1024)


class Webhooks(StrictModel):
    """One optional entry per source; a source without an entry answers 404."""

    alertmanager: WebhookAuth | None = None
    grafana: WebhookAuth | None = None
    gcp_monitoring: WebhookAuth | None = None
    sentry: WebhookAuth | None = None
    pagerduty: WebhookAuth | None = None
    generic: WebhookAuth | None = None


# What each source can use: (bearer/query token, basic, HMAC secret, HMAC required)
SUPPORTED: dict[str, tuple[bool, bool, bool, bool]] = {
    "alertmanager": (True, True, False, False),
    "grafana": (True, True, True, False),
    "gcp_monitoring": (True, True, False, False),
    "sentry": (False, False, True, True),
    "pagerduty": (False, False, True, True),
    "generic": (True, False, False, False),
}
