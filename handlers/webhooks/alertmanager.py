"""POST /webhooks/alertmanager: webhook v4, bearer or basic auth (Alertmanager's http_config)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web

from bot.alerts.alert import Parsed
from bot.alerts.sources import alertmanager
from handlers.webhooks.auth import require_header_credentials
from handlers.webhooks.common import endpoint


def _parse(payload: Any, _request: web.Request, now: datetime) -> Parsed:
    return alertmanager.parse(payload, now)


handle = endpoint("alertmanager", _parse, before_body=require_header_credentials)
