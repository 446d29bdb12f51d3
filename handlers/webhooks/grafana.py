"""POST /webhooks/grafana: bearer or basic auth, plus Grafana's optional HMAC signature.

With a timestamp header configured in Grafana, the signed text is "<timestamp>:<body>";
without one it is the body alone. The signature is lower-case hex HMAC-SHA256.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web

from bot.alerts.alert import Parsed
from bot.alerts.sources import grafana
from handlers.webhooks.auth import AuthFailed, Credentials, check_timestamp, equal, hmac_hex
from handlers.webhooks.auth import require_header_credentials as _headers
from handlers.webhooks.common import endpoint


def _signature(request: web.Request, creds: Credentials, body: bytes) -> None:
    if creds.secret is None:
        return
    config = creds.config
    supplied = request.headers.get(config.signature_header, "").strip()
    if not supplied:
        raise AuthFailed(f"missing {config.signature_header} signature")
    stamp = request.headers.get(config.timestamp_header, "").strip()
    if stamp:
        check_timestamp(stamp, config.max_age_seconds, config.timestamp_header)
        signed = stamp.encode() + b":" + body
    elif config.require_timestamp:
        raise AuthFailed(f"missing {config.timestamp_header}")
    else:
        signed = body
    if not equal(supplied.lower(), hmac_hex(creds.secret, signed)):
        raise AuthFailed(f"{config.signature_header} does not match the body")


def _parse(payload: Any, _request: web.Request, now: datetime) -> Parsed:
    return grafana.parse(payload, now)


handle = endpoint("grafana", _parse, before_body=_headers, after_body=_signature)
