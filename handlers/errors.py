"""The one Bolt error handler: report to Sentry, log, and give the user a plain answer."""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt.response import BoltResponse

from bot.http.errors import is_storage_unavailable
from bot.observability.logging import request_id_var
from bot.observability.report import capture_exception

log = logging.getLogger("flare.slack")

STORAGE_DOWN = "Flare could not reach its database, so nothing was recorded. Please try again in a minute."


async def on_error(error: Exception, body: dict[str, Any]) -> BoltResponse:
    """Answer the user without a traceback; Slack retries events only when storage is down."""
    storage_down = is_storage_unavailable(error)
    if storage_down:
        log.warning(
            "storage unavailable while handling a Slack request", extra={"error": type(error).__name__}
        )
        ref = request_id_var.get() or "-"
        text = STORAGE_DOWN
    else:
        ref = capture_exception(error) or request_id_var.get() or "-"
        log.error("error handling a Slack request", exc_info=error, extra={"ref": ref})
        text = f"Sorry, Flare hit an error and nothing was changed. It has been reported (ref `{ref}`)."
    kind = body.get("type")
    if kind == "view_submission":
        # A 5xx keeps the modal open with Slack's own error line, so the user can retry.
        return BoltResponse(status=503 if storage_down else 500, body="")
    if kind == "event_callback":
        # 5xx makes Slack retry the event later; only worth it when the fault is transient.
        return BoltResponse(status=503 if storage_down else 200, body="")
    payload = {"response_type": "ephemeral", "text": text}
    return BoltResponse(status=200, body=json.dumps(payload), headers={"content-type": "application/json"})
