"""POST /webhooks/generic: Flare's documented JSON schema, with a bearer (or ?token=) token."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web

from bot.alerts.alert import Parsed
from bot.alerts.sources import generic
from handlers.webhooks.auth import Credentials, require_header_credentials
from handlers.webhooks.common import endpoint


def _credentials(request: web.Request, creds: Credentials) -> None:
    require_header_credentials(request, creds, query_token=True)


def _parse(payload: Any, _request: web.Request, now: datetime) -> Parsed:
    return generic.parse(payload, now)


handle = endpoint("generic", _parse, before_body=_credentials)
