"""The web console under /ui/: a sub-application with its own templates, security headers and sessions.

With SLACK_CLIENT_ID, SLACK_CLIENT_SECRET, FLARE_PUBLIC_URL or FLARE_SESSION_SECRET unset, /ui/ answers
404 naming them, and the app logs that once, at INFO.
"""

from __future__ import annotations

import logging

import aiohttp_jinja2
import jinja2
from aiohttp import web

from bot.console.sealing import Sealer
from bot.settings import Settings
from handlers.console import auth, pages
from handlers.console.common import SEALER, console_middleware
from handlers.keys import SETTINGS

log = logging.getLogger("flare")


def disabled_text(missing: list[str]) -> str:
    """What /ui/ answers while the console is off."""
    return (
        "The Flare console is off. Set these variables to turn it on (see README, 'Console'): "
        + ", ".join(missing)
        + "\n"
    )


def build(settings: Settings) -> web.Application:
    """The console sub-application (settings must be complete)."""
    assert settings.flare_session_secret is not None
    ui = web.Application(middlewares=[console_middleware])
    ui[SEALER] = Sealer(settings.flare_session_secret.get_secret_value())
    aiohttp_jinja2.setup(
        ui,
        loader=jinja2.PackageLoader("handlers.console", "templates"),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        undefined=jinja2.StrictUndefined,
    )
    auth.add_routes(ui)
    pages.add_routes(ui)
    return ui


def add_routes(app: web.Application) -> None:
    """Mount the console at /ui/, or a 404 that names the missing settings."""
    settings = app[SETTINGS]
    missing = settings.missing_console_settings()
    if missing:  # the start-up summary (handlers/startup.py) names the variables, once

        async def off(_request: web.Request) -> web.Response:
            return web.Response(status=404, text=disabled_text(missing), content_type="text/plain")

        app.router.add_get("/ui", off)
        app.router.add_get("/ui/{tail:.*}", off)
        return

    async def root(_request: web.Request) -> web.Response:
        raise web.HTTPFound("/ui/incidents")

    app.router.add_get("/ui", root)
    app.add_subapp("/ui/", build(settings))
