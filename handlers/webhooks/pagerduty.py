"""POST /webhooks/pagerduty: PagerDuty v3 webhooks, signed; X-Webhook-Id makes a redelivery a no-op.

Webhooks about incidents Flare paged (incident_key flare-INC-<n>) update that incident instead.

X-PagerDuty-Signature may carry several `v1=<hex>` values (while a secret rotates); any match is enough.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web

from bot.alerts.alert import Parsed
from bot.alerts.parsing import stable_key
from bot.alerts.sources import pagerduty
from bot.paging import sync
from handlers.keys import CONTAINER
from handlers.webhooks.auth import AuthFailed, Credentials, equal, hmac_hex
from handlers.webhooks.common import endpoint


def _signature(request: web.Request, creds: Credentials, body: bytes) -> None:
    assert creds.secret is not None  # the catalog check requires secret_env for PagerDuty
    header = request.headers.get("X-PagerDuty-Signature", "")
    supplied = [part.strip()[3:] for part in header.split(",") if part.strip().startswith("v1=")]
    if not supplied:
        raise AuthFailed("missing X-PagerDuty-Signature (v1=<hex>)")
    expected = hmac_hex(creds.secret, body)
    matched = False
    for signature in supplied:
        matched |= equal(signature.lower(), expected)
    if not matched:
        raise AuthFailed("X-PagerDuty-Signature does not match the body")


def _parse(payload: Any, request: web.Request, now: datetime) -> Parsed:
    parsed = pagerduty.parse(payload, now)
    webhook_id = request.headers.get("X-Webhook-Id", "").strip()
    if webhook_id and parsed.alerts:
        return Parsed(
            parsed.alerts,
            parsed.ignored,
            delivery_key=stable_key(f"pagerduty:{webhook_id}"),
            test=parsed.test,
        )
    return parsed


async def _flare_page(payload: Any, request: web.Request) -> web.StreamResponse | None:
    """Webhooks about Flare's own pages go to the incident, not to alert intake (no echo loop)."""
    key = sync.flare_key(payload)
    if key is None:
        return None
    return web.json_response(await sync.handle(request.app[CONTAINER], payload, key))


handle = endpoint("pagerduty", _parse, after_body=_signature, intercept=_flare_page)
