"""What every console response shares: security headers, a CSP nonce, HTML error pages, the signed-in user."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from bot.console.models import ConsoleSession
from bot.console.sealing import Sealer
from bot.container import Container
from bot.http.errors import is_storage_unavailable
from bot.observability.report import capture_exception
from bot.settings import Settings
from handlers.keys import CONTAINER, SETTINGS

log = logging.getLogger("flare.console")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SEALER = web.AppKey("console_sealer", Sealer)
NONCE = web.RequestKey("console_nonce", str)
USER = web.RequestKey("console_user", ConsoleSession)
SESSION_ID = web.RequestKey("console_sid", str)


def container(request: web.Request) -> Container:
    """The app's Container."""
    return request.config_dict[CONTAINER]


def settings(request: web.Request) -> Settings:
    """The app's Settings."""
    return request.config_dict[SETTINGS]


def nonce(request: web.Request) -> str:
    """This response's CSP nonce (for the charts' <style> elements)."""
    if NONCE not in request:
        request[NONCE] = secrets.token_urlsafe(16)
    return request[NONCE]


def user(request: web.Request) -> ConsoleSession | None:
    """The signed-in user's session row, once `require_session` has run."""
    return request.get(USER)


def csp(request: web.Request) -> str:
    """A strict Content-Security-Policy: scripts and styles from /ui/static (and nonce'd chart styles)."""
    return (
        "default-src 'none'; script-src 'self'; "
        f"style-src 'self' 'nonce-{nonce(request)}'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )


def _secure(response: web.StreamResponse, request: web.Request) -> None:
    response.headers["Content-Security-Policy"] = csp(request)
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    if not request.path.startswith("/ui/static/"):
        response.headers["Cache-Control"] = "no-store"


def page(request: web.Request, template: str, context: dict[str, Any], *, status: int = 200) -> web.Response:
    """Render a console template with the shared context (user, nonce)."""
    signed_in = user(request)
    base = {"me": signed_in, "nonce": nonce(request), "path": request.path}
    return aiohttp_jinja2.render_template(template, request, {**base, **context}, status=status)


def refusal(
    request: web.Request, status: int, title: str, reason: str, *, retry: bool = True
) -> web.Response:
    """An HTML page that says why a request was refused and what to do."""
    return page(request, "refusal.html", {"title": title, "reason": reason, "retry": retry}, status=status)


@web.middleware
async def console_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Security headers on every answer; HTML error pages instead of JSON; no tracebacks out."""
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            _secure(exc, request)
            raise
        reason = exc.text if exc.text and not exc.text.startswith(f"{exc.status}:") else exc.reason
        if exc.status == 404:
            reason = f"There is no console page at {request.path}."
        response = refusal(request, exc.status, exc.reason, reason)
    except Exception as exc:
        if is_storage_unavailable(exc):
            log.warning("storage unavailable", extra={"path": request.path, "error": type(exc).__name__})
            response = refusal(
                request, 503, "Storage unavailable", "The database cannot be reached; retry later."
            )
        else:
            ref = capture_exception(exc)
            log.exception("console error", extra={"path": request.path})
            response = refusal(
                request,
                500,
                "Internal error",
                f"Something went wrong; it has been logged (ref {ref or '-'}).",
            )
    _secure(response, request)
    return response
