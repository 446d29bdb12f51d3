"""What a start says about optional features: one line, naming the variable that turns each on."""

from __future__ import annotations

import logging

from aiohttp import web

from bot.observability.startup import Feature, summary
from handlers.keys import SETTINGS
from handlers.webhooks.common import CREDENTIALS
from handlers.webhooks.deploy import TOKEN

log = logging.getLogger("flare")


def features(app: web.Application) -> list[Feature]:
    """Every optional feature and what it still needs (nothing when it is on)."""
    settings = app[SETTINGS]
    found = [
        Feature(f"{source} webhook", creds.missing, configured=True)
        for source, creds in sorted(app.get(CREDENTIALS, {}).items())
    ]
    deploy = app.get(TOKEN)
    if deploy is not None and deploy.variable is not None and deploy.token is None:
        found.append(Feature("deploy webhook", (deploy.variable,), configured=True))
    console = settings.missing_console_settings()
    found.append(Feature("console (/ui/)", tuple(console)))
    for name, variable, value in (
        ("metrics (GET /metrics)", "METRICS_TOKEN", settings.metrics_token),
        ("read API (/api/...)", "FLARE_API_TOKEN", settings.flare_api_token),
        ("tick endpoint (POST /tasks/tick)", "FLARE_TICK_TOKEN", settings.flare_tick_token),
        ("Sentry", "SENTRY_DSN", settings.sentry_dsn),
    ):
        found.append(Feature(name, () if value is not None else (variable,)))
    return found


def log_summary(app: web.Application) -> None:
    """Log the one start-up line about what is off (nothing when everything is on)."""
    line = summary(features(app))
    if line is not None:
        level, message, extra = line
        log.log(logging.getLevelName(level), message, extra=extra)
