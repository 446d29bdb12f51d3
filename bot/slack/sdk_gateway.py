"""SlackGateway implemented with slack_sdk's AsyncWebClient."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.slack.gateway import (
    TRANSIENT_ERRORS,
    SlackPermanentError,
    SlackRateLimited,
    SlackTransientError,
)


class SdkSlackGateway:
    """Calls Slack through slack_sdk; retries are the outbox's job, so the client retries nothing."""

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client

    async def call(self, method: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """Call `method` and classify any failure."""
        # Slack accepts JSON bodies only for write methods; read methods (conversations.history,
        # chat.getPermalink, ...) need form or query parameters. slack_sdk's per-method wrappers know
        # which encoding each method takes, so use them whenever one exists.
        wrapper = getattr(self.client, method.replace(".", "_"), None)
        try:
            if callable(wrapper):
                response = await wrapper(**params)
            else:
                response = await self.client.api_call(method, json=dict(params))
        except SlackApiError as exc:
            raise _classify(method, exc) from None
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise SlackTransientError(method, f"connection error: {type(exc).__name__}") from None
        return dict(response.data) if isinstance(response.data, dict) else {"ok": True}

    async def upload_file(
        self, *, channel: str, filename: str, content: str, title: str, initial_comment: str | None
    ) -> dict[str, Any]:
        """Upload through files_upload_v2 (get URL, POST bytes, complete)."""
        kwargs: dict[str, Any] = {
            "channel": channel,
            "filename": filename,
            "content": content,
            "title": title,
        }
        if initial_comment:
            kwargs["initial_comment"] = initial_comment
        try:
            response = await self.client.files_upload_v2(**kwargs)
        except SlackApiError as exc:
            raise _classify("files.upload_v2", exc) from None
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise SlackTransientError("files.upload_v2", f"connection error: {type(exc).__name__}") from None
        return dict(response.data) if isinstance(response.data, dict) else {"ok": True}

    async def respond(self, url: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        """POST `payload` to a response_url; 404/410 (expired or used up) are permanent."""
        method = "response_url"
        hook = AsyncWebhookClient(url, session=self.client.session, timeout=self.client.timeout)
        try:
            response = await hook.send_dict(dict(payload))
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise SlackTransientError(method, f"connection error: {type(exc).__name__}") from None
        if response.status_code == 429 or response.status_code >= 500:
            raise SlackTransientError(method, f"HTTP {response.status_code}")
        if response.status_code != 200:
            raise SlackPermanentError(method, f"{response.body or 'refused'} (HTTP {response.status_code})")
        return {"ok": True}


def _classify(method: str, exc: SlackApiError) -> Exception:
    response = exc.response
    status = getattr(response, "status_code", 0)
    if status == 429:
        headers = getattr(response, "headers", {}) or {}
        raw = headers.get("Retry-After") or headers.get("retry-after") or "1"
        try:
            retry_after = max(float(raw), 0.0)
        except ValueError:
            retry_after = 1.0
        return SlackRateLimited(method, retry_after)
    if status >= 500 or status == 408:
        return SlackTransientError(method, f"HTTP {status}")
    data = getattr(response, "data", None)
    error = data.get("error") if isinstance(data, dict) else None
    if not error:
        return SlackTransientError(method, f"unexpected response (HTTP {status})")
    if error in TRANSIENT_ERRORS:
        return SlackTransientError(method, str(error))
    return SlackPermanentError(method, str(error))
