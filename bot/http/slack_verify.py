"""Slack request checks on the raw bytes: the v0 signature first, then the body's shape.

Nothing is decoded before the signature is verified. Failures carry the status to answer with:
401 for unsigned, stale or badly signed requests, 400 for signed bodies Flare cannot use.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from bot.http.jsonbody import BodyError, load_json

MAX_AGE_SECONDS = 300
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


class SlackRequestRefused(Exception):
    """The request cannot be handled; `status` is 401 or 400 and the message is the reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def verify_signature(secret: bytes, headers: Mapping[str, str], body: bytes, now: float) -> None:
    """Raise SlackRequestRefused(401) unless the request is signed with `secret` within 5 minutes."""
    stamp = headers.get("X-Slack-Request-Timestamp", "")
    if not stamp:
        raise SlackRequestRefused(401, "missing X-Slack-Request-Timestamp; requests must be signed by Slack")
    if not (stamp.isascii() and stamp.isdigit() and len(stamp) <= 12):
        raise SlackRequestRefused(401, "X-Slack-Request-Timestamp must be a Unix time in whole seconds")
    if abs(now - int(stamp)) > MAX_AGE_SECONDS:
        raise SlackRequestRefused(
            401, "invalid or expired Slack request signature (timestamp more than 5 minutes from now)"
        )
    supplied = headers.get("X-Slack-Signature", "")
    if not supplied:
        raise SlackRequestRefused(401, "missing X-Slack-Signature; requests must be signed by Slack")
    base = b"v0:" + stamp.encode() + b":" + body
    expected = b"v0=" + hmac.new(secret, base, hashlib.sha256).hexdigest().encode()
    if not hmac.compare_digest(expected, supplied.encode("utf-8", "replace")):
        raise SlackRequestRefused(401, "invalid or expired Slack request signature")


def parse_slack_body(body: bytes, content_type: str) -> tuple[str, dict[str, Any]]:
    """(text, payload) of a verified body; SlackRequestRefused(400) naming what is wrong."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SlackRequestRefused(400, f"body is not UTF-8 text (bad byte at offset {exc.start})") from None
    if content_type == JSON:
        return text, _typed(_json(body, "body"), "body")
    if content_type != FORM:
        raise SlackRequestRefused(400, f"Content-Type must be {FORM} or {JSON}, got {content_type[:60]!r}")
    if text.startswith("{"):
        raise SlackRequestRefused(
            400, "body is not form-encoded (it starts with '{'; send JSON as application/json)"
        )
    try:
        form = dict(parse_qsl(text, keep_blank_values=True, strict_parsing=True, errors="strict"))
    except (ValueError, UnicodeDecodeError):
        raise SlackRequestRefused(
            400, "body is not form-encoded (expected name=value pairs joined by &)"
        ) from None
    if "payload" in form:
        return text, _typed(_json(form["payload"].encode("utf-8", "surrogatepass"), "payload"), "payload")
    if "command" in form:
        if not form["command"].startswith("/"):
            raise SlackRequestRefused(400, "command must start with '/'")
        return text, form
    if "ssl_check" in form:
        return text, form
    raise SlackRequestRefused(400, "expected a slash command (command=...) or an interaction (payload=...)")


def _json(raw: bytes, what: str) -> Any:
    try:
        return load_json(raw, what=what)
    except BodyError as exc:
        field = exc.field if exc.field == what else f"{what}.{exc.field}"
        raise SlackRequestRefused(400, f"{field}: {exc.problem}") from None


def _typed(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise SlackRequestRefused(400, f"{what} must be a JSON object, got {type(value).__name__}")
    if not isinstance(value.get("type"), str) or not value["type"]:
        raise SlackRequestRefused(400, f"{what} has no type (a string naming the request kind)")
    return value
