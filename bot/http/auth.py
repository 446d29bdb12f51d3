"""Bearer-token checks for Flare's own endpoints (metrics, API, tick), with constant-time compares."""

from __future__ import annotations

import hmac

from aiohttp import web
from pydantic import SecretStr

from bot.http.errors import json_error


def bearer_refusal(
    request: web.Request, token: SecretStr | None, *, setting: str, what: str
) -> web.Response | None:
    """None when the request carries `Bearer <token>`; else the 404 (disabled) or 401 to answer with."""
    if token is None or not token.get_secret_value():
        return json_error(404, f"{what} is disabled; set {setting} to enable it")
    supplied = request.headers.get("Authorization", "")
    expected = f"Bearer {token.get_secret_value()}"
    if not hmac.compare_digest(supplied.encode("utf-8", "replace"), expected.encode("utf-8", "replace")):
        return json_error(401, f"missing or wrong bearer token (Authorization: Bearer <{setting}>)")
    return None
