"""Alertmanager's v2 silences API behind a small Protocol, over aiohttp, within a 2 s budget.

`POST /api/v2/silences` creates (on the first URL that answers: an HA cluster gossips it to its
peers), `DELETE /api/v2/silence/{id}` expires, `GET /api/v2/silences` lists. Nothing here raises
anything but SilenceError, whose message says what went wrong in words a person can act on.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import aiohttp
from pydantic import SecretStr

from bot.catalog.alertmanager import AlertmanagerSettings
from bot.observability.logging import register_secrets


class SilenceError(Exception):
    """Alertmanager did not do it; str() is the reason, for the person who asked."""


@dataclass(frozen=True)
class Created:
    """A silence Alertmanager accepted, and which peer accepted it."""

    silence_id: str
    url: str


@dataclass(frozen=True)
class SilenceSpec:
    """What to silence, for how long, and why."""

    matchers: list[dict[str, Any]]
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str

    def body(self) -> dict[str, Any]:
        """The JSON Alertmanager's POST /api/v2/silences takes."""
        return {
            "matchers": self.matchers,
            "startsAt": self.starts_at.isoformat().replace("+00:00", "Z"),
            "endsAt": self.ends_at.isoformat().replace("+00:00", "Z"),
            "createdBy": self.created_by,
            "comment": self.comment,
        }


class SilenceGateway(Protocol):
    """What Flare needs from Alertmanager."""

    async def create(self, spec: SilenceSpec) -> Created:
        """Create a silence; raise SilenceError."""
        ...

    async def expire(self, silence_id: str, url: str | None = None) -> None:
        """Expire a silence (already expired counts as done); raise SilenceError."""
        ...

    async def alerts(self, filters: list[str]) -> list[dict[str, Any]]:
        """Alerts Alertmanager still has that match `filters` (silenced ones included)."""
        ...


class AlertmanagerGateway:
    """The real thing: every call shares one deadline across the configured URLs."""

    def __init__(
        self,
        http: aiohttp.ClientSession,
        urls: list[str],
        *,
        headers: Mapping[str, str] | None = None,
        auth: aiohttp.BasicAuth | None = None,
        timeout: float = 2.0,
    ) -> None:
        self.http = http
        self.urls = list(urls)
        self.headers = dict(headers or {})
        self.auth = auth
        self.timeout = timeout

    async def create(self, spec: SilenceSpec) -> Created:
        """POST on each URL in turn until one answers; 4xx is final (every peer would say the same)."""
        body = spec.body()
        problems: list[str] = []
        deadline = time.monotonic() + self.timeout
        for url in self.urls:
            left = deadline - time.monotonic()
            if left <= 0:
                problems.append(f"{url}: no time left")
                break
            try:
                status, answer = await self._call("POST", url + "/api/v2/silences", left, json=body)
            except SilenceError as exc:
                problems.append(f"{url}: {exc}")
                continue
            if status == 200 and isinstance(answer, dict) and answer.get("silenceID"):
                return Created(str(answer["silenceID"]), url)
            if 400 <= status < 500:
                raise SilenceError(f"Alertmanager refused the silence ({status}: {_reason(answer)})")
            problems.append(f"{url}: answered {status} {_reason(answer)}")
        raise SilenceError("no Alertmanager answered: " + "; ".join(problems))

    async def expire(self, silence_id: str, url: str | None = None) -> None:
        """DELETE on the peer that created it first, then the others."""
        order = [url] if url in self.urls else []
        order += [u for u in self.urls if u not in order]
        problems: list[str] = []
        deadline = time.monotonic() + self.timeout
        for base in order:
            left = deadline - time.monotonic()
            if left <= 0:
                problems.append(f"{base}: no time left")
                break
            try:
                status, answer = await self._call("DELETE", f"{base}/api/v2/silence/{silence_id}", left)
            except SilenceError as exc:
                problems.append(f"{base}: {exc}")
                continue
            if status == 200 or "already expired" in _reason(answer):
                return
            if status == 404:
                raise SilenceError(f"Alertmanager does not know silence {silence_id} (404)")
            problems.append(f"{base}: answered {status} {_reason(answer)}")
        raise SilenceError("could not expire the silence: " + "; ".join(problems))

    async def alerts(self, filters: list[str]) -> list[dict[str, Any]]:
        """GET /api/v2/alerts?filter=... on the first URL that answers."""
        params = [("filter", f) for f in filters] + [("silenced", "true"), ("inhibited", "true")]
        deadline = time.monotonic() + self.timeout
        problems: list[str] = []
        for base in self.urls:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                status, answer = await self._call("GET", base + "/api/v2/alerts", left, params=params)
            except SilenceError as exc:
                problems.append(f"{base}: {exc}")
                continue
            if status == 200 and isinstance(answer, list):
                return [a for a in answer if isinstance(a, dict)]
            problems.append(f"{base}: answered {status}")
        raise SilenceError("could not list alerts: " + ("; ".join(problems) or "no time left"))

    async def _call(self, method: str, url: str, timeout: float, **kwargs: Any) -> tuple[int, Any]:
        try:
            async with asyncio.timeout(timeout):
                async with self.http.request(
                    method, url, headers=self.headers, auth=self.auth, **kwargs
                ) as response:
                    text = await response.text()
        except TimeoutError:
            raise SilenceError(f"no answer within {timeout:.1f} s") from None
        except aiohttp.ClientError as exc:
            raise SilenceError(f"cannot connect ({type(exc).__name__})") from None
        try:
            return response.status, json.loads(text) if text else None
        except ValueError:
            return response.status, text[:300]


def _reason(answer: Any) -> str:
    if isinstance(answer, dict):
        return str(answer.get("message") or answer.get("error") or answer)[:300]
    return str(answer or "").strip()[:300]


def gateway_for(
    http: aiohttp.ClientSession, settings: AlertmanagerSettings, environ: Mapping[str, str]
) -> AlertmanagerGateway:
    """The gateway for the catalog's `alertmanager`, with credentials read from the environment.

    Raises SilenceError naming the variable when a configured credential variable is unset.
    """
    headers: dict[str, str] = {}
    auth: aiohttp.BasicAuth | None = None
    if settings.token_env:
        token = _secret(environ, settings.token_env)
        headers["Authorization"] = f"Bearer {token.get_secret_value()}"
    elif settings.username and settings.password_env:
        password = _secret(environ, settings.password_env)
        auth = aiohttp.BasicAuth(settings.username, password.get_secret_value())
    return AlertmanagerGateway(
        http, settings.urls, headers=headers, auth=auth, timeout=settings.timeout_seconds
    )


def _secret(environ: Mapping[str, str], variable: str) -> SecretStr:
    value = environ.get(variable, "")
    if not value:
        raise SilenceError(f"the variable {variable} (alertmanager credentials) is not set on the server")
    register_secrets([value])
    return SecretStr(value)
