"""POST /webhooks/gcp-monitoring: Cloud Monitoring's webhook; HTTP basic auth or ?token=."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web

from bot.alerts.alert import Parsed
from bot.alerts.sources import gcp_monitoring
from handlers.webhooks.auth import Credentials, require_header_credentials
from handlers.webhooks.common import endpoint


def _credentials(request: web.Request, creds: Credentials) -> None:
    # Cloud Monitoring's "token authentication" puts the token in the URL query.
    require_header_credentials(request, creds, query_token=True)


def _parse(payload: Any, _request: web.Request, now: datetime) -> Parsed:
    return gcp_monitoring.parse(payload, now)


handle = endpoint("gcp_monitoring", _parse, before_body=_credentials)
