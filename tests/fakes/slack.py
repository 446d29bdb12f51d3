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
import uuid
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import WSMsgType, web

from tests.fakes import slack_people
from tests.fakes.slack_oidc import FakeOidc

BOT_TOKEN = "xoxb-test-0000-flare-token"
TEAM_ID = "T0FLARE01"
BOT_USER_ID = "U0FLAREBOT"
BOT_ID = "B0FLAREBOT"
APP_ID = "A0FLARE01"
APP_TOKEN = "xapp-1-A0FLARE01-0000-flare-app-token"
# Methods called with the app-level token (xapp-) rather than the bot token.
APP_TOKEN_METHODS = frozenset({"apps.connections.open"})


@dataclass
class Call:
    """One API call as the fake received it."""

    method: str
    params: dict[str, Any]
    at: float
    status: int = 200
    response: dict[str, Any] = field(default_factory=dict)
    verb: str = "POST"
    content_type: str = ""


@dataclass
class Message:
    """A message as Slack would store it."""

    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]] | None
    user: str
    thread_ts: str | None = None
    edits: int = 0
    pinned: bool = False


@dataclass
class Channel:
    """A channel as Slack would store it."""

    id: str
    name: str
    creator: str
    is_private: bool = False
    topic: str = ""
    members: set[str] = field(default_factory=set)


@dataclass
class SocketAck:
    """An acknowledgement Flare sent over a Socket Mode connection."""

    envelope_id: str
    payload: dict[str, Any] | None
    after: float  # seconds from sending the envelope to receiving its ack


@dataclass
class Fault:
    """A scripted failure for the next `times` calls of a method."""

    status: int = 429
    retry_after: int = 1
    error: str | None = None
    times: int = 1


class FakeSlack:
    """The fake server. `base_url` is what SLACK_API_URL should be set to."""

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
        self.uploads[file_id] = _multipart_payload(data, request.content_type)
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

    @staticmethod
    def _blocks_problem(blocks: Any, limit: int = 50) -> str | None:
        if blocks is None:
            return None
        if not isinstance(blocks, list):
            return "invalid_blocks_format"
        if len(blocks) > limit:
            return "invalid_blocks"
        for block in blocks:
            text = block.get("text") if isinstance(block, dict) else None
            if isinstance(text, dict) and len(str(text.get("text", ""))) > 3000:
                return "invalid_blocks"
            for item in block.get("fields", []) if isinstance(block, dict) else []:
                if len(str(item.get("text", ""))) > 2000:
                    return "invalid_blocks"
            is_header = isinstance(block, dict) and block.get("type") == "header"
            if is_header and len(str((block.get("text") or {}).get("text", ""))) > 150:
                return "invalid_blocks"
        return None

    # ----------------------------------------------------------------- Socket Mode
    async def _socket(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket", "")
        if ticket not in self.socket_tickets:
            return web.Response(status=401, text="invalid ticket")
        self.socket_tickets.remove(ticket)  # a ticket opens one connection
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self.sockets.append(ws)
        self._changed.set()
        await ws.send_json(
            {
                "type": "hello",
                "num_connections": len(self.sockets),
                "debug_info": {"host": "applink-fake", "approximate_connection_time": 18060},
                "connection_info": {"app_id": APP_ID},
            }
        )
        try:
            async for message in ws:
                if message.type != WSMsgType.TEXT:
                    continue
                self._socket_message(str(message.data))
        finally:
            if ws in self.sockets:
                self.sockets.remove(ws)
            self._changed.set()
        return ws

    def _socket_message(self, raw: str) -> None:
        try:
            data = json.loads(raw)
        except ValueError:
            data = None
        envelope_id = data.get("envelope_id") if isinstance(data, dict) else None
        if not isinstance(envelope_id, str) or envelope_id not in self.socket_sent:
            self.socket_junk.append(raw)
        else:
            after = time.monotonic() - self.socket_sent[envelope_id]
            payload = data.get("payload")
            self.socket_acks[envelope_id] = SocketAck(envelope_id, payload, after)
        self._changed.set()

    async def wait_for_socket(self, count: int = 1, timeout: float = 10.0) -> None:
        """Wait until `count` Socket Mode connections are open."""
        await self.wait_for(lambda: len(self.sockets) >= count, timeout=timeout)

    async def socket_send(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        accepts_response_payload: bool = False,
        retry_attempt: int | None = None,
        retry_reason: str | None = None,
    ) -> str:
        """Send an envelope (slash_commands, interactive, events_api) on the newest connection."""
        if not self.sockets:
            raise AssertionError("no Socket Mode connection is open")
        envelope_id = f"{uuid.uuid4()}"
        envelope: dict[str, Any] = {
            "envelope_id": envelope_id,
            "payload": payload,
            "type": kind,
            "accepts_response_payload": accepts_response_payload,
        }
        if retry_attempt is not None:
            envelope["retry_attempt"] = retry_attempt
            envelope["retry_reason"] = retry_reason or ""
        self.socket_sent[envelope_id] = time.monotonic()
        await self.sockets[-1].send_json(envelope)
        return envelope_id

    async def socket_ack(self, envelope_id: str, timeout: float = 3.0) -> SocketAck:
        """The ack of `envelope_id`; fails after `timeout` (Slack gives up after 3 s)."""
        await self.wait_for(lambda: envelope_id in self.socket_acks, timeout=timeout)
        return self.socket_acks[envelope_id]

    def command_payload(
        self,
        command: str,
        text: str = "",
        *,
        user: str = "U0ALICE01",
        channel: str = "C0GENERAL",
        channel_name: str = "general",
    ) -> dict[str, Any]:
        """A slash command as Slack sends it in a Socket Mode envelope."""
        return {
            "token": "legacy-verification-token",
            "team_id": TEAM_ID,
            "team_domain": "flare-test",
            "channel_id": channel,
            "channel_name": channel_name,
            "user_id": user,
            "user_name": user.lower(),
            "command": command,
            "text": text,
            "api_app_id": APP_ID,
            "is_enterprise_install": "false",
            "response_url": self.response_url("socket"),
            "trigger_id": f"{next(self._ids)}.trigger.{int(time.time())}",
        }

    def event_payload(self, event: dict[str, Any], *, event_id: str | None = None) -> dict[str, Any]:
        """An Events API callback as Slack sends it in a Socket Mode envelope."""
        return {
            "token": "legacy-verification-token",
            "team_id": TEAM_ID,
            "api_app_id": APP_ID,
            "event": event,
            "type": "event_callback",
            "event_id": event_id or f"Ev{next(self._ids):010d}",
            "event_time": int(time.time()),
            "authorizations": [{"team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True}],
        }

    async def socket_disconnect(self, reason: str = "refresh_requested") -> None:
        """Ask the client to reconnect, as Slack does every few hours."""
        for ws in list(self.sockets):
            notice = {"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-fake"}}
            await ws.send_json(notice)

    # ----------------------------------------------------------------- methods
    def _m_apps_connections_open(self, _p: dict[str, Any]) -> dict[str, Any]:
        ticket = uuid.uuid4().hex
        self.socket_tickets.append(ticket)
        return {"url": f"ws://127.0.0.1:{self.port}/link/?ticket={ticket}&app_id={APP_ID}"}

    def _m_auth_test(self, _p: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": "https://flare-test.slack.com/",
            "team": "Flare Test",
            "user": "flare",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
        }

    def _m_chat_postMessage(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(p.get("channel"))
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        text = str(p.get("text") or "")
        if not text and not p.get("blocks"):
            return {"ok": False, "error": "no_text"}
        if len(text) > 40000:
            return {"ok": False, "error": "msg_too_long"}
        problem = self._blocks_problem(p.get("blocks"))
        if problem:
            return {"ok": False, "error": problem}
        thread = p.get("thread_ts") or None
        if thread and not self._find(channel.id, thread):
            return {"ok": False, "error": "thread_not_found"}
        message = Message(channel.id, self._next_ts(), text, p.get("blocks"), BOT_USER_ID, thread)
        self.messages[channel.id].append(message)
        return {"channel": channel.id, "ts": message.ts, "message": {"text": text, "ts": message.ts}}

    def _m_chat_update(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(p.get("channel"))
        message = self._find(channel.id, p.get("ts")) if channel else None
        if channel is None or message is None:
            return {"ok": False, "error": "message_not_found"}
        problem = self._blocks_problem(p.get("blocks"))
        if problem:
            return {"ok": False, "error": problem}
        message.text = str(p.get("text") or message.text)
        if "blocks" in p:
            message.blocks = p["blocks"]
        message.edits += 1
        return {"channel": channel.id, "ts": message.ts, "text": message.text}

    def _m_chat_postEphemeral(self, p: dict[str, Any]) -> dict[str, Any]:
        self.ephemerals.append(p)
        return {"message_ts": self._next_ts()}

    def _m_chat_getPermalink(self, p: dict[str, Any]) -> dict[str, Any]:
        return {
            "channel": p.get("channel"),
            "permalink": f"https://flare-test.slack.com/archives/{p.get('channel')}/p"
            f"{str(p.get('message_ts', '')).replace('.', '')}",
        }

    def _m_conversations_create(self, p: dict[str, Any]) -> dict[str, Any]:
        name = str(p.get("name") or "")
        if not name or len(name) > 80 or name != name.lower() or any(c in name for c in " .,#@"):
            return {"ok": False, "error": "invalid_name_specials"}
        if self.channel_named(name):
            return {"ok": False, "error": "name_taken"}
        channel_id = f"C{9000000 + next(self._ids):07d}"
        channel = self.add_channel(channel_id, name, members={BOT_USER_ID}, creator=BOT_USER_ID)
        channel.is_private = str(p.get("is_private")).lower() == "true"
        return {"channel": _channel_json(channel)}

    def _m_conversations_invite(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(p.get("channel"))
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        users = [u for u in str(p.get("users") or "").split(",") if u]
        if not users:
            return {"ok": False, "error": "no_user"}
        new = [u for u in users if u not in channel.members and u != BOT_USER_ID]
        if not new:
            return {"ok": False, "error": "already_in_channel"}
        channel.members.update(new)
        return {"channel": _channel_json(channel)}

    def _m_conversations_setTopic(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(p.get("channel"))
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        if len(str(p.get("topic", ""))) > 250:
            return {"ok": False, "error": "too_long"}
        channel.topic = str(p.get("topic", ""))
        return {"channel": _channel_json(channel)}

    def _m_conversations_info(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(p.get("channel"))
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        return {"channel": _channel_json(channel)}

    def _m_conversations_list(self, p: dict[str, Any]) -> dict[str, Any]:
        channels = sorted(self.channels.values(), key=lambda c: c.id)
        start = int(p.get("cursor") or 0)
        limit = int(p.get("limit") or 100)
        page = channels[start : start + limit]
        cursor = str(start + limit) if start + limit < len(channels) else ""
        return {"channels": [_channel_json(c) for c in page], "response_metadata": {"next_cursor": cursor}}

    def _m_conversations_history(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(p.get("channel"))
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        found = [m for m in self.messages.get(channel.id, []) if m.thread_ts is None]
        latest, oldest = p.get("latest"), p.get("oldest")
        inclusive = str(p.get("inclusive")).lower() in ("true", "1")
        if latest:
            found = [m for m in found if float(m.ts) < float(latest) or (inclusive and m.ts == latest)]
        if oldest:
            found = [m for m in found if float(m.ts) > float(oldest) or (inclusive and m.ts == oldest)]
        found.sort(key=lambda m: float(m.ts), reverse=True)
        limit = int(p.get("limit") or 100)
        return {"messages": [_message_json(m) for m in found[:limit]], "has_more": len(found) > limit}

    def _m_conversations_replies(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(p.get("channel"))
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        ts = p.get("ts")
        found = [m for m in self.messages.get(channel.id, []) if m.ts == ts or m.thread_ts == ts]
        return {"messages": [_message_json(m) for m in found]}

    def _m_conversations_join(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(p.get("channel"))
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        channel.members.add(BOT_USER_ID)
        return {"channel": _channel_json(channel)}

    def _m_pins_add(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(p.get("channel"))
        message = self._find(channel.id, p.get("timestamp")) if channel else None
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        if message.pinned:
            return {"ok": False, "error": "already_pinned"}
        message.pinned = True
        return {}

    def _m_reactions_add(self, p: dict[str, Any]) -> dict[str, Any]:
        return {}

    def _m_views_open(self, p: dict[str, Any]) -> dict[str, Any]:
        if not p.get("trigger_id"):
            return {"ok": False, "error": "invalid_trigger_id"}
        view = p.get("view")
        if not isinstance(view, dict):
            return {"ok": False, "error": "invalid_arguments"}
        problem = self._blocks_problem(view.get("blocks"), limit=100)
        if problem:
            return {"ok": False, "error": problem}
        view_id = f"V{next(self._ids):08d}"
        stored = {**view, "id": view_id, "trigger_id": p.get("trigger_id")}
        self.views.append(stored)
        return {"view": stored}

    def _m_views_update(self, p: dict[str, Any]) -> dict[str, Any]:
        view = p.get("view") if isinstance(p.get("view"), dict) else {}
        stored = {**view, "id": p.get("view_id") or f"V{next(self._ids):08d}"}
        self.views.append(stored)
        return {"view": stored}

    def _m_views_push(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._m_views_open(p)

    def _m_usergroups_users_list(self, p: dict[str, Any]) -> dict[str, Any]:
        group = str(p.get("usergroup") or "")
        if group not in self.usergroups:
            return {"ok": False, "error": "no_such_subteam"}
        return {"users": list(self.usergroups[group])}

    def _m_users_info(self, p: dict[str, Any]) -> dict[str, Any]:
        user = str(p.get("user") or "")
        if user in self.users:
            return {"user": self.users[user]}
        if user[:1] in "UW" and user[1:].isalnum() and not user.startswith("U0MISSING"):
            return {"user": {"id": user, "name": user.lower(), "real_name": f"User {user}", "tz": "UTC"}}
        return {"ok": False, "error": "user_not_found"}

    def _m_files_getUploadURLExternal(self, p: dict[str, Any]) -> dict[str, Any]:
        if not p.get("filename") or not p.get("length"):
            return {"ok": False, "error": "invalid_arguments"}
        file_id = f"F{next(self._ids):08d}"
        return {"upload_url": f"http://127.0.0.1:{self.port}/upload/{file_id}", "file_id": file_id}

    def _m_files_completeUploadExternal(self, p: dict[str, Any]) -> dict[str, Any]:
        files = p.get("files")
        if not isinstance(files, list) or not files:
            return {"ok": False, "error": "invalid_arguments"}
        done = []
        for entry in files:
            file_id = entry.get("id")
            if file_id not in self.uploads:
                return {"ok": False, "error": "file_not_found"}
            record = {
                "id": file_id,
                "title": entry.get("title"),
                "channel": p.get("channel_id"),
                "initial_comment": p.get("initial_comment"),
                "content": self.uploads[file_id],
            }
            self.files.append(record)
            done.append({"id": file_id, "title": entry.get("title")})
        return {"files": done}


def _channel_json(channel: Channel) -> dict[str, Any]:
    return {
        "id": channel.id,
        "name": channel.name,
        "creator": channel.creator,
        "is_private": channel.is_private,
        "topic": {"value": channel.topic},
        "num_members": len(channel.members),
    }


def _message_json(message: Message) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "message", "ts": message.ts, "text": message.text, "user": message.user}
    if message.blocks is not None:
        out["blocks"] = message.blocks
    if message.thread_ts:
        out["thread_ts"] = message.thread_ts
    return out


def _multipart_payload(data: bytes, content_type: str) -> bytes:
    """The file bytes of an upload, whether sent raw or as multipart form data."""
    if "multipart/" not in content_type or "boundary=" not in content_type:
        return data
    boundary = content_type.split("boundary=", 1)[1].strip('"').encode()
    for part in data.split(b"--" + boundary):
        if b"\r\n\r\n" in part and b"filename=" in part.split(b"\r\n\r\n", 1)[0]:
            return part.split(b"\r\n\r\n", 1)[1].rstrip(b"\r\n")
    return data


async def _serve_forever(port: int) -> None:
    fake = await FakeSlack().start(port)
    print(f"fake Slack listening: SLACK_API_URL={fake.base_url} SLACK_BOT_TOKEN={fake.token}", flush=True)
    # Sign in with Slack for the console (README, "Console"): two people of this workspace, one of another.
    fake.oidc.add_person("U0ALICE01", "Alice Admin")
    fake.oidc.add_person("U0BOB0001", "Bob Oncall")
    fake.oidc.add_person("U0MALLORY", "Mallory Outsider", team_id="T0OTHERWS1")
    print(
        f"Sign in with Slack: SLACK_CLIENT_ID={fake.oidc.client_id} "
        f"SLACK_CLIENT_SECRET={fake.oidc.client_secret}",
        flush=True,
    )
    seen = 0
    while True:
        await asyncio.sleep(0.2)
        for call in fake.calls[seen:]:
            params = {k: v for k, v in call.params.items() if k != "_token"}
            print(f"{call.method} -> {call.status} {json.dumps(params)[:300]}", flush=True)
        seen = len(fake.calls)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Run the fake Slack Web API; print every call it gets.")
    parser.add_argument("--port", type=int, default=8025)
    asyncio.run(_serve_forever(parser.parse_args().port))
