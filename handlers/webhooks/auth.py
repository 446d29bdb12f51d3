"""Webhook credentials: resolved from the environment once, checked with constant-time compares."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from aiohttp import web
from pydantic import SecretStr

from bot.catalog.webhooks import WebhookAuth, Webhooks

log = logging.getLogger("flare.webhooks")


class AuthFailed(Exception):
    """The request did not prove it comes from the configured sender; the message says why."""


@dataclass(frozen=True)
class Credentials:
    """One source's configuration plus the secrets read from the environment."""

    source: str
    config: WebhookAuth
    token: SecretStr | None = None
    password: SecretStr | None = None
    secret: SecretStr | None = None
    missing: tuple[str, ...] = field(default_factory=tuple)

    def secret_values(self) -> list[str]:
        """The plain secrets, for log scrubbing."""
        return [s.get_secret_value() for s in (self.token, self.password, self.secret) if s is not None]


def resolve_credentials(webhooks: Webhooks, environ: Mapping[str, str]) -> dict[str, Credentials]:
    """Every configured source's credentials; unset variables are listed in `missing`."""
    resolved: dict[str, Credentials] = {}
    for source in type(webhooks).model_fields:
        config: WebhookAuth | None = getattr(webhooks, source)
        if config is None:
            continue
        missing: list[str] = []

        def read(name: str | None, missing: list[str] = missing) -> SecretStr | None:
            if name is None:
                return None
            value = environ.get(name, "")
            if not value:
                missing.append(name)
                return None
            return SecretStr(value)

        resolved[source] = Credentials(
            source,
            config,
            token=read(config.token_env),
            password=read(config.password_env),
            secret=read(config.secret_env),
            missing=tuple(missing),
        )
    return resolved


def equal(supplied: str, expected: str) -> bool:
    """Constant-time string comparison."""
    return hmac.compare_digest(supplied.encode("utf-8", "replace"), expected.encode("utf-8", "replace"))


def header_credentials(request: web.Request, creds: Credentials, *, query_token: bool = False) -> bool:
    """True when the request carries the bearer token, the basic credentials or (if allowed) ?token=."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    value = value.strip()
    ok = False
    if creds.token is not None:
        expected = creds.token.get_secret_value()
        if scheme.lower() == "bearer":
            ok |= equal(value, expected)
        if query_token and "token" in request.query:
            ok |= equal(request.query.get("token", ""), expected)
    if creds.password is not None and creds.config.username is not None and scheme.lower() == "basic":
        try:
            user, _, password = base64.b64decode(value, validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            user, password = "", ""
        same_user = equal(user, creds.config.username)
        same_password = equal(password, creds.password.get_secret_value())
        ok |= same_user and same_password
    return ok


def require_header_credentials(
    request: web.Request, creds: Credentials, *, query_token: bool = False
) -> None:
    """Raise AuthFailed unless the request carries the configured token or basic credentials."""
    if creds.token is None and creds.password is None:
        return
    if not header_credentials(request, creds, query_token=query_token):
        how = []
        if creds.token is not None:
            how.append("Authorization: Bearer <token>" + (" or ?token=<token>" if query_token else ""))
        if creds.password is not None:
            how.append("HTTP basic auth")
        raise AuthFailed(f"missing or wrong credentials; send {' or '.join(how)}")


def hmac_hex(secret: SecretStr, message: bytes) -> str:
    """Hex HMAC-SHA256 of `message`."""
    return hmac.new(secret.get_secret_value().encode(), message, hashlib.sha256).hexdigest()


def check_timestamp(raw: str, max_age: int, header: str) -> None:
    """Raise AuthFailed unless `raw` (epoch seconds or milliseconds) is within `max_age` of now."""
    try:
        stamp = float(raw)
    except ValueError:
        raise AuthFailed(f"{header} is not a Unix timestamp") from None
    if stamp > 1e11:
        stamp /= 1000.0
    if abs(time.time() - stamp) > max_age:
        raise AuthFailed(f"{header} is more than {max_age} seconds from now (replayed or clock skew)")
