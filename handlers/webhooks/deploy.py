"""POST /webhooks/deploy: deploy events from CI pipelines (the schema is in docs/deploys.md).

Bearer token from the variable named by `deploys.token_env`; 404 while that is not configured, 503
while the variable is unset; 400 naming the bad field; 200 only once the event is stored.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from aiohttp import web
from pydantic import SecretStr

from bot.catalog.deploys import DeploySettings
from bot.deploys import service
from bot.deploys.schema import SchemaError, load_body, parse
from bot.http.errors import json_error
from bot.observability.logging import register_secrets
from bot.settings import environment
from handlers.keys import CATALOG, CONTAINER
from handlers.webhooks.auth import equal

log = logging.getLogger("flare.webhooks")
PATH = "/webhooks/deploy"
SOURCE = "deploy"


@dataclass(frozen=True)
class DeployToken:
    """The webhook's token, read from the environment once; `variable` is None when not configured."""

    variable: str | None
    token: SecretStr | None


def resolve_token(settings: DeploySettings, environ: Mapping[str, str]) -> DeployToken:
    """The configured token (None while its variable is unset: the start-up summary names it)."""
    if settings.token_env is None:
        return DeployToken(None, None)
    value = environ.get(settings.token_env, "")
    if not value:
        return DeployToken(settings.token_env, None)
    return DeployToken(settings.token_env, SecretStr(value))


TOKEN = web.AppKey("deploy_webhook_token", DeployToken)


def _authorized(request: web.Request, token: SecretStr) -> bool:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    # Compare even for a wrong scheme, so the answer takes the same time.
    ok = equal(value.strip(), token.get_secret_value())
    return ok and scheme.lower() == "bearer"


async def handle(request: web.Request) -> web.StreamResponse:
    """Store one deploy event and announce it."""
    c = request.app[CONTAINER]
    configured = request.app[TOKEN]
    if configured.variable is None:
        return json_error(404, "the deploy webhook is not enabled; set deploys.token_env in the catalog")
    if configured.token is None:
        return json_error(503, "the deploy webhook's token is not configured on the server yet")
    if not _authorized(request, configured.token):
        c.metrics.webhook_auth_failures.labels(SOURCE).inc()
        return json_error(401, "missing or wrong credentials; send Authorization: Bearer <token>")
    limit = c.catalog.deploys.max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        return json_error(413, f"body is {request.content_length} bytes; the limit for deploys is {limit}")
    body = await request.read()
    if len(body) > limit:
        return json_error(413, f"body is {len(body)} bytes; the limit for deploys is {limit}")
    try:
        event = parse(load_body(body), c.clock.now())
        service.check_target(c.catalog, event.service, event.env)
    except SchemaError as exc:
        return json_error(400, str(exc), field=exc.field or None)
    outcome = await service.ingest(c, event)
    answer = {
        "status": {"created": "ok", "updated": "ok"}.get(outcome.result, outcome.result),
        "deploy": outcome.deploy_id,
        "deploy_status": outcome.status,
    }
    if outcome.reason:
        answer["reason"] = outcome.reason
    return web.json_response(answer)


def add_routes(app: web.Application) -> None:
    """Register POST /webhooks/deploy, reading its token from the environment."""
    token = resolve_token(app[CATALOG].deploys, environment())
    app[TOKEN] = token
    if token.token is not None:
        register_secrets([token.token.get_secret_value()])
    app.router.add_post(PATH, handle)
