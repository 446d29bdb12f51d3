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

from bot.observability.logging import active_registry
from bot.observability.secrets import SecretRegistry, redact_query
from bot.settings import Settings

FILTERED = "[Filtered]"
_SENSITIVE_KEY = re.compile(
    r"(?i)(token|secret|password|passwd|authorization|cookie|signature|dsn|api[-_]?key|credential|session"
    r"|(^|[-_.])key$)"
)
# Alert and deploy senders put their whole payload in the body: never send it anywhere.
_NO_BODY_PATHS = ("/webhooks/",)


def scrub(value: Any, registry: SecretRegistry, key: str | None = None) -> Any:
    """A copy of `value` with sensitive keys filtered and secret values and shapes redacted."""
    if key is not None and _SENSITIVE_KEY.search(key) and not isinstance(value, dict | list):
        return FILTERED if value not in (None, "", [], {}) else value
    if isinstance(value, dict):
        return {k: scrub(v, registry, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        # Header lists arrive as [name, value] pairs.
        if len(value) == 2 and isinstance(value[0], str) and _SENSITIVE_KEY.search(value[0]):
            return [value[0], FILTERED]
        return [scrub(v, registry) for v in value]
    if isinstance(value, str):
        return registry.scrub(value)
    return value


def _scrub_request(request: dict[str, Any]) -> dict[str, Any]:
    request = dict(request)
    url = str(request.get("url") or "")
    if any(path in url for path in _NO_BODY_PATHS) and "data" in request:
        request["data"] = FILTERED
    query = request.get("query_string")
    if isinstance(query, str) and query:
        request["query_string"] = redact_query(query)
    elif isinstance(query, dict | list):
        request["query_string"] = scrub(query, SecretRegistry())
    if request.get("cookies"):
        request["cookies"] = FILTERED  # cookie names say nothing about their values
    return request


def make_before_send(registry: SecretRegistry | Iterable[str]) -> Any:
    """A before_send/before_breadcrumb hook scrubbing with `registry` (read at each event, so it can grow)."""
    known = registry if isinstance(registry, SecretRegistry) else SecretRegistry(registry)

    def before_send(event: dict[str, Any], _hint: dict[str, Any]) -> dict[str, Any]:
        if isinstance(event.get("request"), dict):
            event = {**event, "request": _scrub_request(event["request"])}
        return dict(scrub(event, known))

    return before_send


def init_sentry(
    settings: Settings,
    *,
    transport: type[Transport] | Transport | None = None,
    registry: SecretRegistry | None = None,
) -> bool:
    """Initialise sentry-sdk when SENTRY_DSN is set, scrubbing with the logs' registry; True if it was."""
    if settings.sentry_dsn is None or not settings.sentry_dsn.get_secret_value():
        return False
    registry = registry or active_registry() or SecretRegistry()
    registry.add(settings.secret_values())
    hook = make_before_send(registry)
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
