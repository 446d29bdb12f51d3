"""The Bolt AsyncApp behind POST /slack/events."""

from __future__ import annotations

import logging
import time
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.request.async_internals import build_async_context
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.container import Container
from bot.db.commits import CommitWatch, current_watch
from bot.http.deadline import Unwinding, within
from bot.http.errors import json_error
from bot.http.slack_verify import SlackRequestRefused, parse_slack_body, verify_signature
from handlers import registry
from handlers.errors import on_error
from handlers.keys import BOLT, CONTAINER, SETTINGS
from handlers.slack_late import late_answer


def build_bolt(container: Container, client: AsyncWebClient) -> AsyncApp:
    """An AsyncApp with every listener registered; listeners finish before the HTTP answer."""
    settings = container.settings
    assert settings.slack_bot_token is not None
    token = settings.slack_bot_token.get_secret_value()

    async def authorize(
        enterprise_id: str | None, team_id: str | None, user_id: str | None
    ) -> AuthorizeResult:
        # Single workspace: no auth.test on the request path; identity is learned in the background.
        return AuthorizeResult(
            enterprise_id=enterprise_id,
            team_id=team_id or container.identity.team_id,
            bot_token=token,
            bot_user_id=container.identity.user_id,
            bot_id=container.identity.bot_id,
            user_id=user_id,
        )

    bolt = _make_app(container, client, authorize)
    bolt.error(on_error)
    for register in registry.BOLT_LISTENERS:
        register(bolt, container)
    return bolt


def _make_app(container: Container, client: AsyncWebClient, authorize: Any) -> AsyncApp:
    settings = container.settings
    assert settings.slack_signing_secret is not None
    return AsyncApp(
        name="flare",
        logger=_bolt_logger(),
        client=client,
        signing_secret=settings.slack_signing_secret.get_secret_value(),
        authorize=authorize,
        # Handlers store state and ack in one step (no Slack calls before the ack), so Bolt can answer
        # when the listener returns instead of polling for ack() every 10 ms.
        process_before_response=True,
        raise_error_for_unhandled_request=False,
        # slack_events verifies the signature on the raw bytes before anything is parsed.
        request_verification_enabled=False,
    )


class _DropTokenWarning(logging.Filter):
    # Bolt also reads SLACK_BOT_TOKEN from the environment and warns that the client it was given
    # wins; that is intended (the token comes from `authorize`), so the warning is noise.
    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


def _bolt_logger() -> logging.Logger:
    logger = logging.getLogger("flare.bolt")
    if not logger.filters:
        logger.addFilter(_DropTokenWarning())
    return logger


async def slack_events(request: web.Request) -> web.Response:
    """Commands, interactivity and events: signature checked on the raw bytes, then dispatched by Bolt."""
    if BOLT not in request.app:
        missing = " and ".join(request.app[CONTAINER].settings.missing_slack_credentials())
        return json_error(503, f"Slack is not configured; set {missing}")
    c = request.app[CONTAINER]
    started = time.perf_counter()
    raw = await request.read()
    try:
        verify_signature(request.app[SIGNING_SECRET], request.headers, raw, time.time())
        text, body = parse_slack_body(raw, request.content_type)
    except SlackRequestRefused as exc:
        return json_error(exc.status, exc.reason)
    bolt_request = _bolt_request(request, text, body)
    watch = CommitWatch()
    finished, bolt_response = await within(
        _dispatch(request.app[BOLT], bolt_request, watch),
        c.settings.flare_slack_deadline_seconds,
        request.app[UNWINDING],
    )
    if not finished or bolt_response is None:
        return late_answer(c, body, committing=watch.started)
    command = _command_name(body)
    if command:
        c.metrics.command_ack_seconds.labels(command).observe(time.perf_counter() - started)
    return await to_aiohttp_response(bolt_response)


def _bolt_request(request: web.Request, text: str, body: dict[str, Any]) -> AsyncBoltRequest:
    # The body is already verified and parsed: hand Bolt the result instead of letting it guess the
    # format again (its guess turns a command whose text mentions "payload" into an empty body).
    bolt_request = AsyncBoltRequest(body="", query=request.query_string, headers=request.headers)  # type: ignore[arg-type]
    bolt_request.raw_body = text
    bolt_request.body = body
    bolt_request.context = build_async_context(AsyncBoltContext({}), body)
    return bolt_request


async def _dispatch(bolt: AsyncApp, bolt_request: AsyncBoltRequest, watch: CommitWatch) -> BoltResponse:
    current_watch.set(watch)
    return await bolt.async_dispatch(bolt_request)


def _command_name(body: dict[str, Any]) -> str | None:
    command = body.get("command")
    return str(command)[:32] if isinstance(command, str) and command.startswith("/") else None


SIGNING_SECRET = web.AppKey("slack_signing_secret", bytes)
UNWINDING = web.AppKey("slack_unwinding", Unwinding)


def add_routes(app: web.Application) -> None:
    """Register POST /slack/events."""
    secret = app[SETTINGS].slack_signing_secret
    app[SIGNING_SECRET] = secret.get_secret_value().encode() if secret is not None else b""
    app[UNWINDING] = Unwinding()
    app.router.add_post("/slack/events", slack_events)
