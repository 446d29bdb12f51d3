"""The Bolt AsyncApp behind POST /slack/events."""

from __future__ import annotations

import logging
import time
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_sdk.web.async_client import AsyncWebClient

from bot.container import Container
from bot.http.errors import json_error
from handlers import registry
from handlers.errors import on_error
from handlers.keys import BOLT, CONTAINER


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
    """Commands, interactivity and events: verified and dispatched by Bolt."""
    if BOLT not in request.app:
        missing = " and ".join(request.app[CONTAINER].settings.missing_slack_credentials())
        return json_error(503, f"Slack is not configured; set {missing}")
    started = time.perf_counter()
    bolt_request = await to_bolt_request(request)
    bolt_response = await request.app[BOLT].async_dispatch(bolt_request)
    if bolt_response.status == 401:
        return json_error(401, "invalid or expired Slack request signature")
    command = _command_name(bolt_request.body)
    if command:
        request.app[CONTAINER].metrics.command_ack_seconds.labels(command).observe(
            time.perf_counter() - started
        )
    response = await to_aiohttp_response(bolt_response)
    return response


def _command_name(body: dict[str, Any]) -> str | None:
    command = body.get("command")
    return str(command)[:32] if isinstance(command, str) and command.startswith("/") else None


def add_routes(app: web.Application) -> None:
    """Register POST /slack/events."""
    app.router.add_post("/slack/events", slack_events)
