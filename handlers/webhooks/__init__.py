"""Alert webhooks: one module per source, sharing auth and body handling (common.py, auth.py)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web
from dotenv import dotenv_values

from bot.alerts.service import AlertIntake
from bot.observability.logging import register_secrets
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
    app[CREDENTIALS] = resolve_credentials(app[CATALOG].webhooks, _environment())
    register_secrets(v for creds in app[CREDENTIALS].values() for v in creds.secret_values())
    for path, handler in ROUTES.items():
        app.router.add_post(path, handler)
    app.cleanup_ctx.append(_intake)


def _environment() -> dict[str, str]:
    """The process environment over `.env`, the same places Flare's settings are read from."""
    dotenv = Path(".env")
    values = {k: v for k, v in dotenv_values(dotenv).items() if v is not None} if dotenv.is_file() else {}
    return {**values, **os.environ}


async def _intake(app: web.Application) -> AsyncIterator[None]:
    # Runs after create_app's own lifecycle has built the container, and stops before it closes it.
    intake = AlertIntake(app[CONTAINER])
    app[ALERTS] = intake
    intake.start()
    yield
    await intake.stop()
