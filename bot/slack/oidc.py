"""Sign in with Slack (OpenID Connect) through slack_sdk: code exchange and the signed-in user's identity."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient


class OidcError(Exception):
    """Slack refused the sign-in or could not be reached; `reason` is safe to show to the person."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class SlackIdentity:
    """Who signed in, as openid.connect.userInfo (and the ID token's nonce) say."""

    user_id: str
    team_id: str
    name: str
    email: str | None
    nonce: str | None


def id_token_claims(id_token: str) -> dict[str, Any]:
    """The claims of an ID token received straight from Slack's token endpoint over TLS.

    OpenID Connect Core 3.1.3.7: a token obtained directly from the token endpoint may be trusted on
    the strength of the TLS connection, so only its payload is decoded here.
    """
    parts = id_token.split(".")
    if len(parts) != 3:
        return {}
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (binascii.Error, ValueError):
        return {}
    return claims if isinstance(claims, dict) else {}


async def exchange_code(
    *,
    api_url: str,
    http: aiohttp.ClientSession,
    client_id: str,
    client_secret: str,
    code: str,
    redirect_uri: str,
    timeout: int = 5,
) -> SlackIdentity:
    """Exchange an authorization code (openid.connect.token), then read openid.connect.userInfo."""
    client = AsyncWebClient(base_url=api_url, session=http, timeout=timeout, retry_handlers=[])
    try:
        token = await client.openid_connect_token(
            client_id=client_id, client_secret=client_secret, code=code, redirect_uri=redirect_uri
        )
        access_token = str(token.get("access_token") or "")
        if not access_token:
            raise OidcError("Slack's token answer had no access token")
        user_client = AsyncWebClient(
            token=access_token, base_url=api_url, session=http, timeout=timeout, retry_handlers=[]
        )
        info = await user_client.openid_connect_userInfo()
    except SlackApiError as exc:
        data = getattr(exc.response, "data", None)
        error = data.get("error") if isinstance(data, dict) else None
        if error is None:
            status = getattr(exc.response, "status_code", "?")
            raise OidcError(f"Slack could not finish the sign-in (HTTP {status})") from None
        raise OidcError(f"Slack refused the sign-in ({error})") from None
    except (aiohttp.ClientError, TimeoutError):
        raise OidcError("Slack could not be reached to finish the sign-in") from None
    claims = id_token_claims(str(token.get("id_token") or ""))
    user_id = str(info.get("https://slack.com/user_id") or "")
    team_id = str(info.get("https://slack.com/team_id") or "")
    if not user_id or not team_id:
        raise OidcError("Slack's answer did not say who you are (no user or team id)")
    name = str(info.get("name") or info.get("given_name") or user_id)
    email = info.get("email")
    nonce = claims.get("nonce")
    return SlackIdentity(
        user_id=user_id,
        team_id=team_id,
        name=name[:200],
        email=str(email)[:320] if email else None,
        nonce=str(nonce) if nonce is not None else None,
    )
