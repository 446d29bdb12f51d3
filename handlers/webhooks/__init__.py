"""Alert webhooks: one module per source, sharing auth and body handling (common.py, auth.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from bot.alerts.service import AlertIntake
from bot.observability.logging import register_secrets
from bot.settings import environment
from handlers.keys import CATALOG, CONTAINER
from handlers.webhooks import alertmanager, gcp_monitoring, generic, grafana, pagerduty, sentry
from handlers.webhooks.auth import resolve_credentials
from handlers.webhooks.common import ALERTS, CREDENTIALS

ROUTES = {
    "/webhooks/alertmanager": alertmanager.handle,
    "/webhooks/grafana": grafana.handle,
    "/webhooks/gcp-monitoring": gcp_monitoring.handle,
    "/webhooks/sentry": sentry.handle,
    "/webhooks/pagerduty": pagerduty.handle,
    "/webhooks/generic": generic.handle,
}


def add_routes(app: web.Application) -> None:
    """Register the alert webhooks, and start alert intake (and its publisher) with the app."""
    app[CREDENTIALS] = resolve_credentials(app[CATALOG].webhooks, environment())
    register_secrets(v for creds in app[CREDENTIALS].values() for v in creds.secret_values())
    for path, handler in ROUTES.items():
        app.router.add_post(path, handler)
    app.cleanup_ctx.append(_intake)


async def _intake(app: web.Application) -> AsyncIterator[None]:
    # Runs after create_app's own lifecycle has built the container, and stops before it closes it.
    intake = AlertIntake(app[CONTAINER])
    app[ALERTS] = intake
    intake.start()
    yield
    await intake.stop()
