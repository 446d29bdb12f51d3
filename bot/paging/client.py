"""PagerDuty over HTTP: Events API v2 (`POST /v2/enqueue`) and REST `GET /oncalls`.

Written on the app's aiohttp session rather than PagerDuty's SDK: the maintained clients
(`pagerduty` 7.x on a synchronous httpx Client, `pdpyras` on requests) block the event loop and
retry inside the call with `time.sleep`, while a page here must be retried from the durable queue
with a deadline that fits its caller. Each call is one JSON request.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp

EVENT_TIMEOUT_SECONDS = 10.0
REST_ACCEPT = "application/vnd.pagerduty+json;version=2"


class PagerDutyError(Exception):
    """A PagerDuty call did not succeed; `reason` is fit to show a person."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PagerDutyRetry(PagerDutyError):
    """Worth trying again (429, 5xx, network); `retry_after` seconds when PagerDuty said so."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class PagerDutyRefused(PagerDutyError):
    """PagerDuty refused the event for good (400: bad key or payload)."""


@dataclass(frozen=True)
class OnCall:
    """Someone on call now at an escalation level."""

    name: str
    level: int
    schedule: str | None


class PagerDutyGateway(Protocol):
    """What paging needs from PagerDuty."""

    async def send_event(self, routing_key: str, body: dict[str, Any]) -> None:
        """Enqueue one Events API v2 event; raises PagerDutyRetry or PagerDutyRefused."""

    async def oncalls(self, token: str, escalation_policy: str, *, timeout: float) -> list[OnCall]:
        """Who is on call now for an escalation policy; raises PagerDutyError."""


class HttpPagerDuty:
    """PagerDutyGateway on an aiohttp session."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        events_url: str,
        api_url: str,
        *,
        event_timeout: float = EVENT_TIMEOUT_SECONDS,
    ) -> None:
        self.session = session
        self.event_timeout = event_timeout
        self.events_url = events_url.rstrip("/")
        self.api_url = api_url.rstrip("/")

    async def send_event(self, routing_key: str, body: dict[str, Any]) -> None:
        """POST /v2/enqueue; 202 is success."""
        data = json.dumps({**body, "routing_key": routing_key})
        try:
            async with self.session.post(
                f"{self.events_url}/v2/enqueue",
                data=data,
                headers={"Content-Type": "application/json"},
                timeout=aiohttp.ClientTimeout(total=self.event_timeout),
            ) as response:
                text = await response.text()
                status = response.status
                retry_after = _retry_after(response.headers.get("Retry-After"))
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise PagerDutyRetry(f"could not reach PagerDuty ({type(exc).__name__})") from None
        if status in (200, 201, 202):
            return
        if status == 429:
            raise PagerDutyRetry("PagerDuty is rate limiting this key (HTTP 429)", retry_after)
        if status >= 500:
            raise PagerDutyRetry(f"PagerDuty answered HTTP {status}", retry_after)
        raise PagerDutyRefused(_refusal(status, text))

    async def oncalls(self, token: str, escalation_policy: str, *, timeout: float) -> list[OnCall]:
        """GET /oncalls?escalation_policy_ids[]=…, the current shift only."""
        try:
            async with self.session.get(
                f"{self.api_url}/oncalls",
                params=[("escalation_policy_ids[]", escalation_policy), ("earliest", "true")],
                headers={"Authorization": f"Token token={token}", "Accept": REST_ACCEPT},
                timeout=aiohttp.ClientTimeout(total=timeout),
            ) as response:
                status = response.status
                text = await response.text()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise PagerDutyError(f"could not reach PagerDuty's API ({type(exc).__name__})") from None
        if status == 401:
            raise PagerDutyError("PagerDuty refused the API token (HTTP 401)")
        if status != 200:
            raise PagerDutyError(f"PagerDuty's API answered HTTP {status}")
        try:
            entries = json.loads(text).get("oncalls") or []
            return sorted(
                (
                    OnCall(
                        name=str((e.get("user") or {}).get("summary") or "someone"),
                        level=int(e.get("escalation_level") or 0),
                        schedule=((e.get("schedule") or {}).get("summary") or None),
                    )
                    for e in entries
                ),
                key=lambda o: (o.level, o.name),
            )
        except (ValueError, AttributeError, TypeError):
            raise PagerDutyError("PagerDuty's API answered something that is not an on-call list") from None


def _retry_after(value: str | None) -> float | None:
    try:
        return max(float(value), 0.0) if value else None
    except ValueError:
        return None


def _refusal(status: int, text: str) -> str:
    """PagerDuty's own words for a refusal: its `errors`, else its `message`, else the status."""
    try:
        body = json.loads(text)
    except ValueError:
        body = {}
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, list) and errors:
        detail = "; ".join(str(e) for e in errors[:3])
    elif isinstance(body, dict) and body.get("message"):
        detail = str(body["message"])
    else:
        detail = f"HTTP {status}"
    detail = detail.strip().rstrip(".")
    if detail[1:2].islower():  # "Invalid routing key" reads "invalid routing key" after a colon
        detail = detail[:1].lower() + detail[1:]
    return detail[:300]
