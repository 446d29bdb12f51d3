"""Construction of slack_sdk clients from settings."""

from __future__ import annotations

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient

from bot.settings import Settings


def make_web_client(
    settings: Settings,
    session: aiohttp.ClientSession | None = None,
    *,
    with_token: bool = True,
    timeout: int = 10,
) -> AsyncWebClient:
    """An AsyncWebClient for SLACK_API_URL that never retries on its own (the outbox does)."""
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token and with_token else None
    return AsyncWebClient(
        token=token,
        base_url=settings.slack_api_url,
        session=session,
        timeout=timeout,
        retry_handlers=[],
    )
