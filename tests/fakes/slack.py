"""A loopback fake of the Slack Web API, driven by the real slack_sdk client through SLACK_API_URL.

It keeps enough state to answer like Slack (channels, messages, pins, files, views), records every
call with its parameters, enforces the limits Slack enforces (blocks, text sizes, per-channel
posting rate when asked), and can inject 429s, 5xx responses and outages.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections import defaultdict, deque
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from tests.fakes import slack_people
from tests.fakes.slack_chat import ChatApi, multipart_payload
from tests.fakes.slack_conversations import ConversationsApi
from tests.fakes.slack_oidc import FakeOidc
from tests.fakes.slack_socket import SocketModeApi, serve_forever
from tests.fakes.slack_state import (
    APP_ID,
    APP_TOKEN,
    APP_TOKEN_METHODS,
    BOT_ID,
    BOT_TOKEN,
    BOT_USER_ID,
    TEAM_ID,
    Call,
    Channel,
    Fault,
    Message,
    SocketAck,
)

__all__ = [
    "APP_ID",
    "APP_TOKEN",
    "APP_TOKEN_METHODS",
    "BOT_ID",
    "BOT_TOKEN",
    "BOT_USER_ID",
    "TEAM_ID",
    "Call",
    "Channel",
    "FakeSlack",
    "Fault",
    "Message",
    "SocketAck",
]


class FakeSlack(ChatApi, ConversationsApi, SocketModeApi):
    """The fake server. `base_url` is what SLACK_API_URL should be set to.

    Web API methods live by family in slack_chat.py, slack_conversations.py and slack_socket.py
    (`_m_<method>`), DMs and people in slack_people.py, Sign in with Slack in slack_oidc.py.
    """

    def __init__(
        self,
        *,
        token: str = BOT_TOKEN,
        rate_limit_per_channel: float | None = None,
        burst: int = 4,
        app_token: str = APP_TOKEN,
    ) -> None:
        self.token = token
        self.app_token = app_token
        # Socket Mode: open websocket connections, tickets issued, envelopes sent and their acks.
        self.sockets: list[web.WebSocketResponse] = []
        self.socket_tickets: list[str] = []
        self.socket_sent: dict[str, float] = {}
        self.socket_acks: dict[str, SocketAck] = {}
        self.socket_junk: list[str] = []
        self.calls: list[Call] = []
        self.channels: dict[str, Channel] = {}
        self.messages: dict[str, list[Message]] = defaultdict(list)
        self.responses: list[dict[str, Any]] = []
        self.files: list[dict[str, Any]] = []
        self.uploads: dict[str, bytes] = {}
        self.views: list[dict[str, Any]] = []
        self.ephemerals: list[dict[str, Any]] = []
        self.usergroups: dict[str, list[str]] = {}
        self.users: dict[str, dict[str, Any]] = {}
        self.faults: dict[str, deque[Fault]] = defaultdict(deque)
        self.down = False
        self.delay = 0.0
        self.rate_limit_per_channel = rate_limit_per_channel
        self.burst = burst
        self.rate_limited = 0
        self._buckets: dict[str, tuple[float, float]] = {}
        self._ts = itertools.count(1)
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self.port = 0
        self._changed = asyncio.Event()
        # Sign in with Slack (OpenID Connect): tests/fakes/slack_oidc.py.
        self.oidc = FakeOidc(self)

    # ----------------------------------------------------------------- lifecycle
    async def start(self, port: int = 0) -> FakeSlack:
        """Listen on 127.0.0.1 (a random port unless given)."""
        app = web.Application(client_max_size=10 * 1024 * 1024)
        self.oidc.register(app)
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/api/{method}", self._api)
        app.router.add_post("/respond/{token}", self._respond)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_get("/link/", self._socket)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        self._site = web.TCPSite(self._runner, "127.0.0.1", port or self.port)
        await self._site.start()
        server = self._site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        """Stop listening (connections are refused until `start` is called again)."""
        for ws in list(self.sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def base_url(self) -> str:
        """The SLACK_API_URL for this fake."""
        return f"http://127.0.0.1:{self.port}/api/"

    def response_url(self, name: str = "r") -> str:
        """A response_url that records what is posted to it."""
        return f"http://127.0.0.1:{self.port}/respond/{name}-{next(self._ids)}"

    # ----------------------------------------------------------------- scripting
    def fail(
        self,
        method: str,
        *,
        status: int = 429,
        retry_after: int = 1,
        error: str | None = None,
        times: int = 1,
    ) -> None:
        """Make the next `times` calls of `method` ("*" for any) fail."""
        self.faults[method].append(Fault(status, retry_after, error, times))

    def add_channel(
        self, channel_id: str, name: str, *, members: set[str] | None = None, creator: str = "U0SOMEONE"
    ) -> Channel:
        """Create a channel that already exists in the workspace."""
        channel = Channel(channel_id, name, creator, members=set(members or set()))
        self.channels[channel_id] = channel
        return channel

    def add_message(self, channel: str, text: str, *, user: str = "U0ALICE") -> Message:
        """A message someone posted (for pins and reactions)."""
        message = Message(channel, self._next_ts(), text, None, user)
        self.messages[channel].append(message)
        return message

    # ----------------------------------------------------------------- queries
    def calls_to(self, method: str) -> list[Call]:
        """Successful and failed calls of `method`, in order."""
        return [c for c in self.calls if c.method == method]

    def ok_calls(self, method: str) -> list[Call]:
        """Calls of `method` that Slack answered with ok: true."""
        return [c for c in self.calls if c.method == method and c.response.get("ok")]

    def posted(self, channel: str | None = None) -> list[Message]:
        """Every top-level and threaded message (optionally in one channel), in posting order."""
        if channel is not None:
            return list(self.messages.get(self.resolve_channel(channel) or channel, []))
        return sorted((m for ms in self.messages.values() for m in ms), key=lambda m: float(m.ts))

    def channel_named(self, name: str) -> Channel | None:
        """The channel called `name`, if any."""
        return next((c for c in self.channels.values() if c.name == name.lstrip("#")), None)

    def resolve_channel(self, ref: str) -> str | None:
        """A channel id from an id or a #name."""
        if ref in self.channels:
            return ref
        if ref.startswith("#"):
            found = self.channel_named(ref)
            return found.id if found else None
        return None

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        """Wait until `predicate()` holds (the app delivers asynchronously)."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"condition not met within {timeout}s; calls: {[c.method for c in self.calls][-30:]}"
                )
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout=0.05)

    # ----------------------------------------------------------------- HTTP
    async def _respond(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.responses.append({"url": str(request.url), **body})
        self._changed.set()
        return web.json_response({"ok": True})

    async def _upload(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        data = await request.read()
        self.uploads[file_id] = multipart_payload(data, request.content_type)
        self._changed.set()
        return web.Response(text=f"OK - {len(self.uploads[file_id])}", content_type="text/plain")

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await self._params(request)
        call = Call(method, params, time.monotonic(), verb=request.method, content_type=request.content_type)
        self.calls.append(call)
        try:
            status, body, headers = await self._handle(method, params, request)
        finally:
            self._changed.set()
        call.status, call.response = status, body
        if status != 200 and not body:
            return web.Response(status=status, text="upstream error", headers=headers)
        return web.json_response(body, status=status, headers=headers)

    async def _params(self, request: web.Request) -> dict[str, Any]:
        raw = await request.read()
        params: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json" and raw:
            params.update(json.loads(raw))
        elif raw:
            params.update(dict(parse_qsl(raw.decode())))
        for key in ("blocks", "attachments", "view", "files"):
            if isinstance(params.get(key), str):
                with contextlib.suppress(ValueError):
                    params[key] = json.loads(params[key])
        auth = request.headers.get("Authorization", "")
        params["_token"] = auth.removeprefix("Bearer ") if auth else params.pop("token", None)
        return params

    async def _handle(
        self, method: str, params: dict[str, Any], request: web.Request
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.down:
            return 503, {}, {}
        for key in (method, "*"):
            queue = self.faults.get(key)
            if queue:
                fault = queue[0]
                fault.times -= 1
                if fault.times <= 0:
                    queue.popleft()
                if fault.status == 429:
                    return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(fault.retry_after)}
                if fault.error:
                    return fault.status, {"ok": False, "error": fault.error}, {}
                return fault.status, {}, {}
        expected = self.app_token if method in APP_TOKEN_METHODS else self.token
        if params.get("_token") != expected:
            # Like Slack: a valid token of the wrong kind is refused differently from a bad one.
            known = params.get("_token") in (self.token, self.app_token)
            return 200, {"ok": False, "error": "not_allowed_token_type" if known else "invalid_auth"}, {}
        extra = slack_people.METHODS.get(method)
        handler = getattr(self, "_m_" + method.replace(".", "_"), None)
        if extra is not None:
            handler = lambda p: extra(self, p)  # noqa: E731 - methods kept in tests/fakes/slack_people.py
        if handler is None:
            return 200, {"ok": False, "error": "unknown_method"}, {}
        if method == "chat.postMessage" and self.rate_limit_per_channel:
            channel = str(params.get("channel"))
            if not self._take_token(channel):
                self.rate_limited += 1
                return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "1"}
        result = handler(params)
        if result.get("ok") is False:
            return 200, result, {}
        return 200, {"ok": True, **result}, {}

    def _take_token(self, channel: str) -> bool:
        assert self.rate_limit_per_channel is not None
        now = time.monotonic()
        tokens, at = self._buckets.get(channel, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - at) * self.rate_limit_per_channel)
        if tokens < 1:
            self._buckets[channel] = (tokens, now)
            return False
        self._buckets[channel] = (tokens - 1, now)
        return True

    # ----------------------------------------------------------------- helpers
    def _next_ts(self) -> str:
        return f"{int(time.time())}.{next(self._ts):06d}"

    def _channel(self, ref: Any) -> Channel | None:
        if not isinstance(ref, str) or not ref:
            return None
        found = self.resolve_channel(ref)
        if found:
            return self.channels[found]
        if ref[0] in "CG" and ref[1:].isalnum() and not ref.startswith("C0MISSING"):
            return self.add_channel(ref, ref.lower())
        if slack_people.is_user(ref):
            return slack_people.dm(self, ref)
        return None

    def _find(self, channel: str, ts: Any) -> Message | None:
        return next((m for m in self.messages.get(channel, []) if m.ts == ts), None)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Run the fake Slack Web API; print every call it gets.")
    parser.add_argument("--port", type=int, default=8025)
    asyncio.run(serve_forever(FakeSlack, parser.parse_args().port))
