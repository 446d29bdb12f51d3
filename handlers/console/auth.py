"""Sign in with Slack: /ui/login, /ui/auth/callback, /ui/logout, and the session check every page runs."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from aiohttp import web

from bot.console import auth
from bot.console.models import ConsoleSession
from bot.container import Container
from bot.rollback.access import group_members
from bot.slack.gateway import SlackCallError
from bot.slack.oidc import OidcError, exchange_code
from handlers.console.common import SEALER, SESSION_ID, USER, container, refusal, settings

PageHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SLACK_TIMEOUT = 5.0


def _redirect_uri(request: web.Request) -> str:
    base = settings(request).flare_public_url
    return f"{base}/ui/auth/callback"


def _cookie_args(request: web.Request, max_age: int) -> dict[str, Any]:
    secure = (settings(request).flare_public_url or "").startswith("https://")
    return {"path": "/ui/", "httponly": True, "secure": secure, "samesite": "Lax", "max_age": max_age}


def _lifetime(request: web.Request) -> timedelta:
    return timedelta(hours=settings(request).flare_session_hours)


def _session_id(request: web.Request) -> str | None:
    """The session id sealed in the cookie, if the cookie is genuine and not too old."""
    raw = request.cookies.get(auth.SESSION_COOKIE)
    if not raw or len(raw) > 4096:
        return None
    now = container(request).clock.now().timestamp()
    opened = request.app[SEALER].open(raw, now=now, max_age=_lifetime(request).total_seconds())
    sid = opened.get("sid") if opened else None
    return sid if isinstance(sid, str) else None


async def login(request: web.Request) -> web.StreamResponse:
    """Start a sign-in: remember the attempt for this browser and go to Slack's authorize page."""
    c = container(request)
    browser = secrets.token_urlsafe(32)
    async with c.transaction() as session:
        attempt = await auth.start_login(
            session, browser=browser, next_path=request.query.get("next", ""), now=c.clock.now()
        )
    s = settings(request)
    assert s.slack_client_id is not None
    target = auth.authorize_url(
        s.slack_api_url,
        client_id=s.slack_client_id,
        state=attempt.state,
        nonce=attempt.nonce,
        redirect_uri=_redirect_uri(request),
    )
    response = web.HTTPFound(target)
    response.set_cookie(
        auth.LOGIN_COOKIE, browser, **_cookie_args(request, int(auth.LOGIN_TTL.total_seconds()))
    )
    raise response


async def _team_id(c: Container) -> str | None:
    if c.identity.team_id:
        return c.identity.team_id
    try:
        body = await asyncio.wait_for(c.slack.call("auth.test", {}), timeout=SLACK_TIMEOUT)
    except (SlackCallError, TimeoutError):
        return None
    c.identity.team_id = body.get("team_id")
    return c.identity.team_id


async def membership(c: Container, user_id: str) -> tuple[str, bool] | None:
    """Why `user_id` may not use the console (catalog `console.allowed_user_groups`) and whether that may
    pass (Slack could not be asked), or None if allowed."""
    groups = tuple(c.catalog.console.allowed_user_groups)
    if not groups:
        return None
    try:
        members, failed = await asyncio.wait_for(group_members(c, groups), timeout=SLACK_TIMEOUT)
    except TimeoutError:
        members, failed = {}, list(groups)
    if any(user_id in set(users) for users in members.values()):
        return None
    names = ", ".join(groups)
    if failed:
        return (
            f"Flare could not read the user group(s) {', '.join(failed)} from Slack to check that you are "
            f"a member of {names}. Try again in a minute; if it persists, tell whoever runs Flare.",
            True,
        )
    return (
        f"Only members of the Slack user group(s) {names} may use this console "
        "(catalog: console.allowed_user_groups). Ask an admin of one of them to add you.",
        False,
    )


async def callback(request: web.Request) -> web.StreamResponse:
    """Finish a sign-in: the attempt once, for this browser; the code with Slack; team and groups checked."""
    c = container(request)
    state = request.query.get("state", "")[:100]
    async with c.transaction() as session:
        consumed = await auth.consume_login(
            session, state=state, browser=request.cookies.get(auth.LOGIN_COOKIE), now=c.clock.now()
        )
    if isinstance(consumed, str):
        return refusal(request, 400, "Sign-in refused", f"Sign-in refused: {consumed}. Start again.")
    if request.query.get("error"):
        error = request.query["error"][:100]
        return refusal(request, 403, "Sign-in cancelled", f"Slack did not sign you in ({error}).")
    code = request.query.get("code", "")[:500]
    if not code:
        return refusal(
            request, 400, "Sign-in refused", "Slack's answer had no authorization code. Start again."
        )
    s = settings(request)
    assert s.slack_client_id is not None
    assert s.slack_client_secret is not None
    try:
        identity = await exchange_code(
            api_url=s.slack_api_url,
            http=c.http,
            client_id=s.slack_client_id,
            client_secret=s.slack_client_secret.get_secret_value(),
            code=code,
            redirect_uri=_redirect_uri(request),
            timeout=int(SLACK_TIMEOUT),
        )
    except OidcError as exc:
        return refusal(request, 502, "Sign-in failed", f"{exc.reason}. Try again in a minute.")
    if identity.nonce is None or not secrets.compare_digest(identity.nonce, consumed.nonce):
        return refusal(
            request, 400, "Sign-in refused", "Slack's answer does not belong to this sign-in. Start again."
        )
    team = await _team_id(c)
    if team is None:
        return refusal(
            request,
            503,
            "Sign-in unavailable",
            "Flare cannot reach Slack to learn its workspace. Try again in a minute.",
        )
    if identity.team_id != team:
        return refusal(
            request,
            403,
            "Wrong workspace",
            f"You signed in to Slack workspace {identity.team_id}, but this Flare belongs to workspace "
            f"{team}. Sign in with your account in that workspace.",
            retry=True,
        )
    refused = await membership(c, identity.user_id)
    if refused is not None:
        reason, transient = refused
        if transient:
            return refusal(request, 503, "Cannot check access", reason)
        return refusal(request, 403, "Not allowed", reason, retry=False)
    async with c.transaction() as session:
        sid, _row = await auth.create_session(
            session,
            user_id=identity.user_id,
            team_id=identity.team_id,
            name=identity.name,
            email=identity.email,
            now=c.clock.now(),
            lifetime=_lifetime(request),
        )
    response = web.HTTPFound(consumed.next_path)
    sealed = request.app[SEALER].seal({"sid": sid}, now=c.clock.now().timestamp())
    response.set_cookie(
        auth.SESSION_COOKIE, sealed, **_cookie_args(request, int(_lifetime(request).total_seconds()))
    )
    response.del_cookie(auth.LOGIN_COOKIE, path="/ui/")
    raise response


async def logout(request: web.Request) -> web.StreamResponse:
    """Revoke the session (its cookie is refused from now on) and clear the cookie."""
    c = container(request)
    sid = _session_id(request)
    if sid is not None:
        async with c.transaction() as session:
            await auth.revoke(session, sid, now=c.clock.now())
    response = web.HTTPFound("/ui/signed-out")
    response.del_cookie(auth.SESSION_COOKIE, path="/ui/")
    raise response


async def signed_out(request: web.Request) -> web.StreamResponse:
    """The page after logging out."""
    return refusal(request, 200, "Signed out", "You are signed out of the Flare console.", retry=True)


async def current_session(request: web.Request) -> ConsoleSession | web.StreamResponse:
    """The live session of this request, or the answer to send instead (sign-in redirect, refusal)."""
    c = container(request)
    sid = _session_id(request)
    if sid is None:
        target = "/ui/login?next=" + quote(request.path_qs, safe="")
        return web.HTTPFound(target)
    async with c.db.sessions() as session:
        row = await auth.find_session(session, sid, now=c.clock.now())
    if row is None:
        response = web.HTTPFound("/ui/login?next=" + quote(request.path_qs, safe=""))
        response.del_cookie(auth.SESSION_COOKIE, path="/ui/")
        return response
    now = c.clock.now()
    if c.catalog.console.allowed_user_groups and now - row.checked_at >= auth.REFRESH_EVERY:
        refused = await membership(c, row.user_id)
        if refused is not None and refused[1]:
            return refusal(request, 503, "Cannot check access", refused[0])
        async with c.transaction() as session:
            if refused is not None:
                await auth.revoke(session, sid, now=now)
            else:
                await auth.mark_checked(session, row.id, now=now)
        if refused is not None:
            refused_page = refusal(request, 403, "Not allowed", refused[0], retry=False)
            refused_page.del_cookie(auth.SESSION_COOKIE, path="/ui/")
            return refused_page
    request[SESSION_ID] = sid
    return row


def signed_in(handler: PageHandler) -> PageHandler:
    """Wrap a page handler: it runs only for a signed-in, still-allowed user."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        found = await current_session(request)
        if not isinstance(found, ConsoleSession):
            if isinstance(found, web.HTTPException):
                raise found
            return found
        request[USER] = found
        return await handler(request)

    wrapped.__name__ = handler.__name__
    wrapped.__doc__ = handler.__doc__
    return wrapped


def add_routes(ui: web.Application) -> None:
    """Register the sign-in routes on the console sub-application."""
    ui.router.add_get("/login", login)
    ui.router.add_get("/auth/callback", callback)

    ui.router.add_post("/logout", logout)
    ui.router.add_get("/signed-out", signed_out)
