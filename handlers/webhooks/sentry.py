"""POST /webhooks/sentry: Sentry integration webhooks, signed with the integration's client secret.

Sentry-Hook-Signature is hex HMAC-SHA256 of the raw body; Sentry-Hook-Timestamp must be recent;
Request-ID identifies a delivery, so a retry is stored once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web

from bot.alerts.alert import Parsed
from bot.alerts.parsing import stable_key
from bot.alerts.sources import sentry
from handlers.webhooks.auth import AuthFailed, Credentials, check_timestamp, equal, hmac_hex
from handlers.webhooks.common import endpoint


def _signature(request: web.Request, creds: Credentials, body: bytes) -> None:
    assert creds.secret is not None  # the catalog check requires secret_env for Sentry
    supplied = request.headers.get("Sentry-Hook-Signature", "").strip()
    if not supplied:
        raise AuthFailed("missing Sentry-Hook-Signature")
    stamp = request.headers.get("Sentry-Hook-Timestamp", "").strip()
    if not stamp:
        raise AuthFailed("missing Sentry-Hook-Timestamp")
    check_timestamp(stamp, creds.config.max_age_seconds, "Sentry-Hook-Timestamp")
    if not equal(supplied.lower(), hmac_hex(creds.secret, body)):
        raise AuthFailed("Sentry-Hook-Signature does not match the body")


def _parse(payload: Any, request: web.Request, now: datetime) -> Parsed:
    resource = request.headers.get("Sentry-Hook-Resource", "").strip().lower()
    parsed = sentry.parse(payload, now, resource=resource)
    request_id = request.headers.get("Request-ID", "").strip()
    if request_id and parsed.alerts:
        return Parsed(
            parsed.alerts, parsed.ignored, delivery_key=stable_key(f"sentry:{request_id}"), test=parsed.test
        )
    return parsed


handle = endpoint("sentry", _parse, after_body=_signature)
