"""Fake Slack, Socket Mode: apps.connections.open and the websocket Flare connects to."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from tests.fakes.slack_state import (
    APP_ID,
    BOT_USER_ID,
    TEAM_ID,
    SocketAck,
)

if TYPE_CHECKING:
    from tests.fakes.slack import FakeSlack


class SocketModeApi:
    """The Socket Mode side: envelopes sent to Flare and the acks it returns."""

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

    def _m_apps_connections_open(self, _p: dict[str, Any]) -> dict[str, Any]:
        ticket = uuid.uuid4().hex
        self.socket_tickets.append(ticket)
        return {"url": f"ws://127.0.0.1:{self.port}/link/?ticket={ticket}&app_id={APP_ID}"}


async def serve_forever(fake_type: type[FakeSlack], port: int) -> None:
    """Run a fake on `port` and print every call it gets (python -m tests.fakes.slack)."""
    fake = await fake_type().start(port)
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
