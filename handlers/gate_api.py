"""GET /api/deploy-gate?service=S&env=E: may this deploy go ahead? (the deploy token as bearer)

200 {"open": true} · 423 {"open": false, "reason", "incidents": [...]} · 401 bad token ·
400 naming the field · 404 when the deploy token is not configured · 503 when storage is down.
"""

from __future__ import annotations

from aiohttp import web

from bot.gate.service import evaluate
from bot.http.errors import json_error
from handlers.keys import CONTAINER
from handlers.webhooks.auth import equal
from handlers.webhooks.deploy import TOKEN

PATH = "/api/deploy-gate"


def _authorized(request: web.Request, token: str) -> bool:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    ok = equal(value.strip(), token)  # compared even for a wrong scheme: same time either way
    return ok and scheme.lower() == "bearer"


async def handle(request: web.Request) -> web.Response:
    """Answer whether the gate is open for the service and environment asked about."""
    c = request.app[CONTAINER]
    configured = request.app[TOKEN]
    if configured.variable is None:
        return json_error(404, "the deploy gate is not enabled; set deploys.token_env in the catalog")
    if configured.token is None:
        return json_error(503, "the deploy token is not configured on the server yet")
    if not _authorized(request, configured.token.get_secret_value()):
        c.metrics.webhook_auth_failures.labels("deploy_gate").inc()
        return json_error(401, "missing or wrong credentials; send Authorization: Bearer <deploy token>")
    unknown = sorted(set(request.query) - {"service", "env"})
    if unknown:
        return json_error(
            400, f"unknown parameter {unknown[0][:40]!r}; give service and env", field=unknown[0][:40]
        )
    service = request.query.get("service", "").strip().lower()
    env = request.query.get("env", "").strip().lower()
    if not service:
        return json_error(400, "give the service: ?service=<name>", field="service")
    found = c.catalog.service(service)
    if found is None:
        known = ", ".join(s.name for s in c.catalog.services) or "none"
        return json_error(400, f"unknown service {service[:60]!r} (known: {known})", field="service")
    if not env:
        return json_error(400, "give the environment: &env=<name>", field="env")
    if env not in found.environments:
        known = ", ".join(found.environments)
        return json_error(400, f"{service} has no environment {env[:60]!r} (known: {known})", field="env")
    async with c.db.sessions() as session:
        state = await evaluate(session, c.catalog, service, env, c.clock.now())
    body = state.as_json(c.catalog.incidents.slack_workspace_url)
    return web.json_response(body, status=200 if state.open else 423)


def add_routes(app: web.Application) -> None:
    """Register GET /api/deploy-gate (after the deploy webhook, whose token it shares)."""
    app.router.add_get(PATH, handle)
