"""What Slack gets when a request passes its deadline (the database hangs): a polite, honest answer."""

from __future__ import annotations

import json
import logging
from typing import Any

import aiohttp
from aiohttp import web

from bot.container import Container
from bot.http.errors import json_error

log = logging.getLogger("flare.slack")

NOTHING_CHANGED = "Flare could not reach its database; nothing was changed, try again."
UNSURE = (
    "Flare could not confirm with its database in time: your change may or may not have been saved. "
    "Check before trying again."
)


def late_answer(c: Container, body: dict[str, Any], *, committing: bool) -> web.Response:
    """The answer to a Slack request abandoned at its deadline (its transaction rolls back)."""
    text = UNSURE if committing else NOTHING_CHANGED
    kind = body.get("type")
    log.warning(
        "Slack request passed its deadline",
        extra={"kind": kind or body.get("command", "?"), "committing": committing},
    )
    if kind == "event_callback" or (kind is not None and kind not in _INTERACTIVE):
        # Slack retries events answered with a 5xx; each event_id is processed once.
        return json_error(503, "Flare's database did not answer in time; retry later")
    if kind == "view_submission":
        # Keep the user's modal and stack the explanation on top of it.
        return web.json_response({"response_action": "push", "view": _notice_view(text)})
    response_url = body.get("response_url")
    if (
        kind is not None
        and isinstance(response_url, str)
        and response_url.startswith(("https://", "http://"))
    ):
        c.spawn(_tell(c, response_url, text), name="slack-late-notice")
    if kind is not None:
        return web.Response(status=200)
    return web.json_response({"response_type": "ephemeral", "text": text})


_INTERACTIVE = frozenset({"block_actions", "view_submission", "view_closed", "shortcut", "message_action"})


def _notice_view(text: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Flare"},
        "close": {"type": "plain_text", "text": "Close"},
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
    }


async def _tell(c: Container, response_url: str, text: str) -> None:
    payload = {"response_type": "ephemeral", "replace_original": False, "text": text}
    try:
        async with c.http.post(
            response_url,
            data=json.dumps(payload),
            headers={"Content-Type": "application/json"},
            timeout=aiohttp.ClientTimeout(total=5),
        ) as response:
            if response.status >= 400:
                log.warning("response_url refused the late notice", extra={"status": response.status})
    except (aiohttp.ClientError, TimeoutError) as exc:
        log.warning("could not deliver the late notice", extra={"error": type(exc).__name__})
