"""The shape every webhook endpoint shares: credentials, body limits, parse, store, honest answers."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from aiohttp import web

from bot.alerts.alert import Parsed
from bot.alerts.parsing import PayloadError, load_json
from bot.alerts.service import AlertIntake
from bot.http.errors import json_error
from handlers.keys import CONTAINER
from handlers.webhooks.auth import AuthFailed, Credentials
from handlers.webhooks.vendor_test import test_received

log = logging.getLogger("flare.webhooks")

ALERTS = web.AppKey("alerts", AlertIntake)
# Alertmanager (and Grafana's Alertmanager-shaped body) send a whole group at once: ~400 bytes per
# alert, so 1 MiB refused groups of ~2,000+ alerts on every flush (4xx is not retried). 8 MiB holds
# ~20,000; cap it lower with the Alertmanager receiver's max_alerts (docs/alerts.md).
DEFAULT_BODY_LIMITS = {"alertmanager": 8 * 1024 * 1024, "grafana": 8 * 1024 * 1024}
CREDENTIALS = web.AppKey("webhook_credentials", dict[str, Credentials])

# (request, credentials, raw body) -> None, raising AuthFailed
BodyCheck = Callable[[web.Request, Credentials, bytes], None]
# (decoded JSON, request, now) -> Parsed, raising PayloadError
Parser = Callable[[Any, web.Request, datetime], Parsed]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# (decoded JSON, request) -> an answer when the payload is not for alert intake, else None
Intercept = Callable[[Any, web.Request], Awaitable[web.StreamResponse | None]]


def endpoint(
    source: str,
    parse: Parser,
    *,
    before_body: Callable[[web.Request, Credentials], None] | None = None,
    after_body: BodyCheck | None = None,
    intercept: Intercept | None = None,
) -> Handler:
    """A POST handler: 404 if the source is not enabled, 401/413/400 as due, 200 once stored."""

    async def handle(request: web.Request) -> web.StreamResponse:
        c = request.app[CONTAINER]
        creds = request.app[CREDENTIALS].get(source)
        if creds is None:
            return json_error(
                404, f"the {source} webhook is not enabled; add webhooks.{source} to the catalog"
            )
        if creds.missing:
            return json_error(503, f"the {source} webhook's credentials are not configured on the server yet")
        try:
            if before_body is not None:
                before_body(request, creds)
        except AuthFailed as exc:
            c.metrics.webhook_auth_failures.labels(source).inc()
            return json_error(401, str(exc))
        limit = (
            creds.config.max_body_bytes or DEFAULT_BODY_LIMITS.get(source) or c.settings.flare_max_body_bytes
        )
        if request.content_length is not None and request.content_length > limit:
            return json_error(
                413, f"body is {request.content_length} bytes; the limit for {source} is {limit}"
            )
        body = await request.clone(client_max_size=limit).read()
        if len(body) > limit:
            return json_error(413, f"body is {len(body)} bytes; {source} allows {limit}")
        try:
            if after_body is not None:
                after_body(request, creds, body)
        except AuthFailed as exc:
            c.metrics.webhook_auth_failures.labels(source).inc()
            return json_error(401, str(exc))
        try:
            payload = load_json(body)
            if intercept is not None:
                answer = await intercept(payload, request)
                if answer is not None:
                    return answer
            parsed = parse(payload, request, c.clock.now())
        except PayloadError as exc:
            c.metrics.alerts_received.labels(source, "invalid").inc()
            return json_error(400, str(exc), field=exc.field)
        if parsed.test:
            return await test_received(c, request.app[ALERTS].router, source, parsed)
        if not parsed.alerts:
            return web.json_response({"status": "ignored", "reason": parsed.ignored or "no alerts"})
        outcome = await request.app[ALERTS].submit(parsed)
        return web.json_response(
            {
                "status": "duplicate" if outcome.replay else "ok",
                "received": len(parsed.alerts),
                "stored": outcome.stored,
                "resolved": outcome.resolved,
                "duplicates": outcome.duplicates,
                "updated": outcome.updated,
                "unrouted": outcome.unrouted,
                "groups": sorted(outcome.groups),
            }
        )

    handle.__name__ = f"{source}_webhook"
    return handle
