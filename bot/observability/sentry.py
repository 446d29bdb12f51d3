"""Sentry initialisation, with a before_send that strips credentials from every event."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import sentry_sdk
from sentry_sdk.integrations.aiohttp import AioHttpIntegration
from sentry_sdk.integrations.logging import LoggingIntegration
from sentry_sdk.integrations.sqlalchemy import SqlalchemyIntegration
from sentry_sdk.transport import Transport

from bot.observability.logging import redact
from bot.settings import Settings

FILTERED = "[Filtered]"
_SENSITIVE_KEY = re.compile(
    r"(?i)(token|secret|password|passwd|authorization|cookie|signature|dsn|api[-_]?key|credential|session)"
)


def scrub(value: Any, secrets: list[str], key: str | None = None) -> Any:
    """A copy of `value` with sensitive keys filtered and secret-shaped strings redacted."""
    if key is not None and _SENSITIVE_KEY.search(key) and not isinstance(value, dict | list):
        return FILTERED if value not in (None, "", [], {}) else value
    if isinstance(value, dict):
        return {k: scrub(v, secrets, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        # Header lists arrive as [name, value] pairs.
        if len(value) == 2 and isinstance(value[0], str) and _SENSITIVE_KEY.search(value[0]):
            return [value[0], FILTERED]
        return [scrub(v, secrets) for v in value]
    if isinstance(value, str):
        return redact(value, secrets)
    return value


def make_before_send(secrets: Iterable[str]) -> Any:
    """A before_send/before_breadcrumb hook that scrubs with the given secret values."""
    known = [s for s in secrets if s]

    def before_send(event: dict[str, Any], _hint: dict[str, Any]) -> dict[str, Any]:
        return dict(scrub(event, known))

    return before_send


def init_sentry(settings: Settings, *, transport: type[Transport] | Transport | None = None) -> bool:
    """Initialise sentry-sdk when SENTRY_DSN is set; True if it was."""
    if settings.sentry_dsn is None or not settings.sentry_dsn.get_secret_value():
        return False
    hook = make_before_send(settings.secret_values())
    options: dict[str, Any] = {}
    if transport is not None:
        options["transport"] = transport
    sentry_sdk.init(
        dsn=settings.sentry_dsn.get_secret_value(),
        environment=settings.sentry_environment,
        traces_sample_rate=settings.sentry_traces_sample_rate,
        max_request_body_size="never",
        integrations=[
            AioHttpIntegration(),
            SqlalchemyIntegration(),
            LoggingIntegration(),
        ],
        before_send=hook,
        before_send_transaction=hook,
        before_breadcrumb=hook,
        **options,
    )
    return True
