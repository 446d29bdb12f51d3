"""Socket Mode: the same Bolt app, fed over Slack's websocket instead of POST /slack/events.

For trying Flare from a laptop: no public URL is needed for Slack. Webhooks, health and metrics
are still served on PORT by the same aiohttp application.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import aiohttp
from aiohttp import web
from pydantic import SecretStr
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.adapter.socket_mode.async_internals import run_async_bolt_app, send_async_response
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.request import SocketModeRequest

from bot.observability.metrics import Metrics
from bot.settings import Settings
from handlers.keys import BOLT, CONTAINER

log = logging.getLogger("flare.socket_mode")

XAPP_HELP = (
    "an app-level token (xapp-...) with the connections:write scope: https://api.slack.com/apps"
    " -> your app -> Basic Information -> App-Level Tokens"
)


class SocketModeError(Exception):
    """Socket Mode cannot start; the message is one line for the operator."""


def token_problem(settings: Settings) -> str | None:
    """Why SLACK_APP_TOKEN cannot be used for Socket Mode, or None when it looks right."""
    token = settings.slack_app_token.get_secret_value().strip() if settings.slack_app_token else ""
    if not token:
        return f"SLACK_APP_TOKEN is not set; --socket-mode needs {XAPP_HELP}"
    if not token.startswith("xapp-"):
        return f"SLACK_APP_TOKEN must be {XAPP_HELP}; the value set does not start with xapp-"
    return None


class FlareSocketModeHandler(AsyncSocketModeHandler):
    """Bolt's aiohttp Socket Mode adapter that times slash-command acks and tracks in-flight work."""

    def __init__(self, bolt: AsyncApp, app_token: str, metrics: Metrics, *, ping_interval: float) -> None:
        super().__init__(bolt, app_token=app_token, web_client=bolt.client, ping_interval=ping_interval)
        self.metrics = metrics
        self._inflight: set[asyncio.Task[Any]] = set()

    async def handle(self, client: Any, req: SocketModeRequest) -> None:
        """Dispatch one envelope to Bolt and send the ack (with the listener's answer as payload)."""
        task = asyncio.current_task()
        if task is not None:
            self._inflight.add(task)
        started = time.perf_counter()
        try:
            response = await run_async_bolt_app(self.app, req)
            command = _command_name(req)
            if command is not None:
                self.metrics.command_ack_seconds.labels(command).observe(time.perf_counter() - started)
            await send_async_response(client, req, response, started)
        finally:
            if task is not None:
                self._inflight.discard(task)

    async def open(self) -> None:
        """Connect (the SDK's connect is untyped)."""
        await self.connect_async()  # type: ignore[no-untyped-call]

    async def shut(self) -> None:
        """Close the websocket and the SDK's own HTTP session (untyped in the SDK)."""
        await self.close_async()  # type: ignore[no-untyped-call]

    async def drain(self, timeout: float) -> None:
        """Wait up to `timeout` seconds for envelopes being handled to be acked."""
        if self._inflight:
            await asyncio.wait(set(self._inflight), timeout=timeout)


def _command_name(req: SocketModeRequest) -> str | None:
    command = req.payload.get("command") if req.type == "slash_commands" else None
    return command[:32] if isinstance(command, str) and command.startswith("/") else None


async def start(
    app: web.Application, app_token: SecretStr, *, ping_interval: float = 10.0
) -> FlareSocketModeHandler:
    """Connect the running app's Bolt listeners to Slack over Socket Mode; raises SocketModeError."""
    if BOLT not in app:
        raise SocketModeError("Socket Mode needs SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET as well")
    container = app[CONTAINER]
    handler = FlareSocketModeHandler(
        app[BOLT], app_token.get_secret_value(), container.metrics, ping_interval=ping_interval
    )
    try:
        # Ask for the websocket URL once ourselves: a refused token is a clear error at start,
        # where the SDK's connect() would retry it forever.
        handler.client.wss_uri = await handler.client.issue_new_wss_url()
    except SlackApiError as exc:
        await handler.shut()
        error = exc.response.get("error") if exc.response is not None else None
        raise SocketModeError(
            f"SLACK_APP_TOKEN: Slack refused to open a Socket Mode connection ({error or 'no reason given'})"
        ) from None
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        await handler.shut()
        raise SocketModeError(
            f"SLACK_API_URL: cannot reach Slack to open a Socket Mode connection ({type(exc).__name__})"
        ) from None
    await handler.open()
    log.info("socket mode connected")
    return handler


async def stop(handler: FlareSocketModeHandler, *, drain_timeout: float = 1.0) -> None:
    """Let envelopes in flight be acked, then close the websocket."""
    await handler.drain(drain_timeout)
    await handler.shut()
    log.info("socket mode disconnected")
