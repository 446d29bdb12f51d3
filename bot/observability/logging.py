"""One JSON object per log line, carrying the request id; known secrets never reach the output."""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from bot.observability.secrets import SecretRegistry

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("flare_request_id", default=None)

_STANDARD = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", (), None)).keys() | {"message", "asctime", "taskName"}
)


class JsonFormatter(logging.Formatter):
    """Formats records as single-line JSON, scrubbed through the secret registry."""

    def __init__(self, secrets: Iterable[str] | SecretRegistry = ()) -> None:
        super().__init__()
        self.registry = secrets if isinstance(secrets, SecretRegistry) else SecretRegistry(secrets)

    @property
    def secrets(self) -> list[str]:
        """The registered secret values."""
        return list(self.registry)

    def format(self, record: logging.LogRecord) -> str:
        """Render `record` as one JSON line."""
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
            "severity": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value if isinstance(value, int | float | bool | type(None)) else str(value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return self.registry.scrub(json.dumps(entry, ensure_ascii=False, default=str))


OWN_LOGGERS = ("flare",)
LIBRARY_LOGGERS = (
    "aiohttp.access",
    "slack_bolt",
    "slack_sdk",
    "sqlalchemy",
    "alembic",
    "aiosqlite",
    "asyncio",
)


class LibraryFilter(logging.Filter):
    """Drops other libraries' records below WARNING, so Flare's own lines are what a start shows."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep Flare's records at any level and everyone else's from WARNING up."""
        return record.levelno >= logging.WARNING or record.name.split(".")[0] in OWN_LOGGERS


def configure_logging(
    level: str, secrets: Iterable[str] | SecretRegistry = (), *, debug_libs: bool = False
) -> None:
    """Send every log record to stderr as JSON at `level`; libraries stay at WARNING unless `debug_libs`."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(secrets))
    if not debug_libs:
        handler.addFilter(LibraryFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    quiet = logging.WARNING if not debug_libs else logging.NOTSET
    # Set on the loggers too, so their records are not even made (aiosqlite logs every statement).
    for noisy in (
        "aiohttp.access",
        "slack_bolt",
        "slack_sdk",
        "sqlalchemy",
        "alembic",
        "aiosqlite",
        "asyncio",
    ):
        logging.getLogger(noisy).setLevel(max(logging.getLevelName(level), quiet))


def active_registry() -> SecretRegistry | None:
    """The registry the JSON log handler scrubs with (Sentry shares it), if logging is configured."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler.formatter, JsonFormatter):
            return handler.formatter.registry
    return None


def register_secrets(values: Iterable[str]) -> None:
    """Add `values` (secrets learned after start-up) to the registry logs and Sentry scrub with."""
    registry = active_registry()
    if registry is not None:
        registry.add(list(values))
