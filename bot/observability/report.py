"""Report to Sentry only if it was initialised; sentry_sdk stays unimported otherwise."""

from __future__ import annotations

import sys


def capture_exception(exc: BaseException) -> str | None:
    """Send `exc` to Sentry when it is active; the event id, or None."""
    sentry = sys.modules.get("sentry_sdk")
    if sentry is None:
        return None
    event_id = sentry.capture_exception(exc)
    return str(event_id) if event_id else None


def add_breadcrumb(category: str, message: str, **data: object) -> None:
    """Add a Sentry breadcrumb when Sentry is active."""
    sentry = sys.modules.get("sentry_sdk")
    if sentry is not None:
        sentry.add_breadcrumb(category=category, message=message, data=data, level="info")


def sentry_active() -> bool:
    """True when a Sentry client with a DSN is active."""
    sentry = sys.modules.get("sentry_sdk")
    if sentry is None:
        return False
    client = sentry.get_client()
    return bool(client.is_active() and client.dsn)
