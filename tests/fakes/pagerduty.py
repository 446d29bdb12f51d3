"""A fake PagerDuty on a loopback port: Events API v2 (`POST /v2/enqueue`) and REST `GET /oncalls`.

It validates what PagerDuty validates (routing key, event_action, dedup_key, payload fields) and
can be scripted to fail like the real service: 429 with Retry-After, 500, 400, a hang, or down.
`PAGERDUTY_EVENTS_URL` and `PAGERDUTY_API_URL` point at `url`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

SEVERITIES = {"critical", "error", "warning", "info"}
ACTIONS = {"trigger", "acknowledge", "resolve"}


@dataclass
class Fault:
    """A scripted failure for the next `times` enqueue calls."""

    status: int = 500
    retry_after: int | None = None
    times: int = 1
    hang: bool = False


@dataclass
class Event:
    """An event PagerDuty accepted (202)."""

    body: dict[str, Any]
    at: float

    @property
    def action(self) -> str:
        """trigger, acknowledge or resolve."""
        return str(self.body.get("event_action"))

    @property
    def dedup_key(self) -> str:
        """The event's dedup key."""
        return str(self.body.get("dedup_key"))


@dataclass
class FakePagerDuty:
    """The fake server. Valid routing keys and API tokens are registered with `add_key` / `add_token`."""

    keys: set[str] = field(default_factory=set)
    tokens: set[str] = field(default_factory=set)
    oncall: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    attempts: list[dict[str, Any]] = field(default_factory=list)
    faults: deque[Fault] = field(default_factory=deque)
    down_status: int | None = None
    hang: bool = False
    port: int = 0
    _runner: web.AppRunner | None = None
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def start(self, port: int = 0) -> FakePagerDuty:
        """Listen on 127.0.0.1 (a random port unless given)."""
        app = web.Application()
        app.router.add_post("/v2/enqueue", self._enqueue)
        app.router.add_get("/oncalls", self._oncalls)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port or self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        """Stop listening (connections are refused until `start` is called again)."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def url(self) -> str:
        """PAGERDUTY_EVENTS_URL and PAGERDUTY_API_URL for this fake."""
        return f"http://127.0.0.1:{self.port}"

    def add_key(self, key: str) -> str:
        """Register a valid Events API v2 integration key (32 characters, as PagerDuty's are)."""
        assert len(key) == 32, "PagerDuty integration keys are 32 characters"
        self.keys.add(key)
        return key

    def fail(self, status: int = 500, *, retry_after: int | None = None, times: int = 1) -> None:
        """Make the next `times` enqueue calls answer `status`."""
        self.faults.append(Fault(status, retry_after, times))

    def triggers(self, dedup_key: str | None = None) -> list[Event]:
        """Accepted trigger events (for one dedup key)."""
        return [e for e in self.events if e.action == "trigger" and dedup_key in (None, e.dedup_key)]

    def actions(self, dedup_key: str) -> list[str]:
        """The accepted event actions for a dedup key, in order."""
        return [e.action for e in self.events if e.dedup_key == dedup_key]

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        """Wait until `predicate()` holds."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"condition not met within {timeout}s; events: {self.events}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout=0.05)

    async def _enqueue(self, request: web.Request) -> web.Response:
        raw = await request.read()
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        self.attempts.append({"body": body, "at": time.monotonic()})
        self._changed.set()
        if self.hang:
            await asyncio.sleep(3600)
        if self.down_status is not None:
            return web.json_response(
                {"status": "error", "message": "Service unavailable"}, status=self.down_status
            )
        if self.faults:
            fault = self.faults[0]
            fault.times -= 1
            if fault.times <= 0:
                self.faults.popleft()
            headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
            if fault.status == 429:
                return web.json_response(
                    {
                        "status": "throttle event",
                        "message": "Requests for this service are arriving too quickly.",
                    },
                    status=429,
                    headers=headers,
                )
            return web.json_response(
                {"status": "error", "message": "fault"}, status=fault.status, headers=headers
            )
        problems = _problems(body, self.keys)
        if problems:
            return web.json_response(
                {"status": "invalid event", "message": "Event object is invalid", "errors": problems},
                status=400,
            )
        assert isinstance(body, dict)
        self.events.append(Event(body, time.monotonic()))
        self._changed.set()
        return web.json_response(
            {"status": "success", "message": "Event processed", "dedup_key": body.get("dedup_key")},
            status=202,
        )

    async def _oncalls(self, request: web.Request) -> web.Response:
        if self.hang:
            await asyncio.sleep(3600)
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Token token=") or auth[len("Token token=") :] not in self.tokens:
            return web.json_response({"error": {"message": "Unauthorized", "code": 2006}}, status=401)
        policies = request.query.getall("escalation_policy_ids[]", [])
        found = [entry for policy in policies for entry in self.oncall.get(policy, [])]
        return web.json_response({"oncalls": found, "limit": 25, "offset": 0, "more": False, "total": None})


def _problems(body: Any, keys: set[str]) -> list[str]:
    if not isinstance(body, dict):
        return ["Event object is not JSON"]
    if body.get("routing_key") not in keys:
        return ["Invalid routing key"]
    action = body.get("event_action")
    if action not in ACTIONS:
        return ["'event_action' is missing or invalid"]
    if action != "trigger":
        return [] if body.get("dedup_key") else ["'dedup_key' is required for acknowledge and resolve"]
    payload = body.get("payload")
    if not isinstance(payload, dict):
        return ["'payload' is missing or invalid"]
    problems = []
    summary = payload.get("summary")
    if not isinstance(summary, str) or not summary or len(summary) > 1024:
        problems.append("'payload.summary' is missing or longer than 1024 characters")
    if not payload.get("source"):
        problems.append("'payload.source' is missing")
    if payload.get("severity") not in SEVERITIES:
        problems.append("'payload.severity' must be one of critical, error, warning, info")
    if len(json.dumps(body)) > 512 * 1024:
        problems.append("Event is larger than 512 KB")
    return problems


def oncall_entry(name: str, level: int, schedule: str | None = None) -> dict[str, Any]:
    """One entry of GET /oncalls as PagerDuty returns it."""
    return {
        "escalation_policy": {"id": "PPAY001", "type": "escalation_policy_reference"},
        "escalation_level": level,
        "schedule": {"id": "PSCHED1", "summary": schedule, "type": "schedule_reference"}
        if schedule
        else None,
        "user": {"id": f"PU{level}", "summary": name, "type": "user_reference"},
        "start": "2026-12-04T00:00:00Z",
        "end": "2026-12-05T00:00:00Z",
    }


async def _serve_forever(port: int, keys: list[str]) -> None:
    fake = FakePagerDuty()
    for key in keys:
        fake.add_key(key)
    await fake.start(port)
    print(f"fake PagerDuty listening: PAGERDUTY_EVENTS_URL={fake.url}", flush=True)
    seen = 0
    while True:
        await asyncio.sleep(0.2)
        for event in fake.events[seen:]:
            print(f"{event.action} {event.dedup_key}", flush=True)
        seen = len(fake.events)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Run the fake PagerDuty; print every accepted event.")
    parser.add_argument("--port", type=int, default=8026)
    parser.add_argument("--key", action="append", default=[], help="a valid 32-character routing key")
    args = parser.parse_args()
    asyncio.run(_serve_forever(args.port, args.key))
