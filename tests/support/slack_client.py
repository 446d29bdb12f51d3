"""Sends requests to Flare exactly as Slack does: form-encoded or JSON, signed with v0 HMAC-SHA256."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp

from tests.fakes.slack import TEAM_ID

SIGNING_SECRET = "test-signing-secret-8f2c1e"
_ids = itertools.count(1)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The X-Slack-Signature for `body` at `timestamp`."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


@dataclass
class Reply:
    """Flare's HTTP answer."""

    status: int
    text: str
    headers: dict[str, str]

    def json(self) -> Any:
        """The body as JSON."""
        return json.loads(self.text) if self.text else None


class SlackClient:
    """A signed-request sender aimed at a running Flare."""

    def __init__(
        self,
        base_url: str,
        session: aiohttp.ClientSession,
        *,
        secret: str = SIGNING_SECRET,
        response_url: Any = None,
    ) -> None:
        self.url = base_url.rstrip("/") + "/slack/events"
        self.session = session
        self.secret = secret
        self._response_url = response_url

    async def raw(
        self,
        body: bytes,
        content_type: str,
        *,
        timestamp: str | None = None,
        signature: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        """POST `body` with a valid signature unless one is given."""
        ts = timestamp or str(int(time.time()))
        all_headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": signature or sign(self.secret, ts, body),
            **(headers or {}),
        }
        async with self.session.post(self.url, data=body, headers=all_headers) as response:
            return Reply(response.status, await response.text(), dict(response.headers))

    def response_url(self) -> str:
        """A response_url the fake Slack records."""
        return self._response_url() if callable(self._response_url) else "http://127.0.0.1:9/respond/none"

    async def command(
        self,
        command: str,
        text: str = "",
        *,
        user: str = "U0ALICE01",
        channel: str = "C0GENERAL",
        channel_name: str = "general",
        trigger_id: str | None = None,
        response_url: str | None = None,
        **signing: Any,
    ) -> Reply:
        """A slash command, form-encoded."""
        form = {
            "token": "legacy-verification-token",
            "team_id": TEAM_ID,
            "team_domain": "flare-test",
            "channel_id": channel,
            "channel_name": channel_name,
            "user_id": user,
            "user_name": user.lower(),
            "command": command,
            "text": text,
            "api_app_id": "A0FLARE01",
            "is_enterprise_install": "false",
            "response_url": response_url or self.response_url(),
            "trigger_id": trigger_id or f"{next(_ids)}.trigger.{int(time.time())}",
        }
        return await self.raw(urlencode(form).encode(), "application/x-www-form-urlencoded", **signing)

    async def interactive(self, payload: dict[str, Any], **signing: Any) -> Reply:
        """Any interactivity payload, form-encoded as payload=<json>."""
        body = urlencode({"payload": json.dumps(payload)}).encode()
        return await self.raw(body, "application/x-www-form-urlencoded", **signing)

    async def block_action(
        self,
        action_id: str,
        value: str | None = None,
        *,
        user: str = "U0ALICE01",
        channel: str = "C0GENERAL",
        message_ts: str = "1700000000.000100",
        block_id: str = "actions",
        selected_option: str | None = None,
        view: dict[str, Any] | None = None,
        trigger_id: str | None = None,
        action_ts: str | None = None,
    ) -> Reply:
        """A block_actions payload for one button or select."""
        action: dict[str, Any] = {
            "action_id": action_id,
            "block_id": block_id,
            "type": "button",
            "action_ts": action_ts or f"{time.time():.6f}",
        }
        if value is not None:
            action["value"] = value
        if selected_option is not None:
            action["type"] = "static_select"
            action["selected_option"] = {
                "value": selected_option,
                "text": {"type": "plain_text", "text": selected_option},
            }
        payload: dict[str, Any] = {
            "type": "block_actions",
            "team": {"id": TEAM_ID, "domain": "flare-test"},
            "user": {"id": user, "username": user.lower(), "team_id": TEAM_ID},
            "api_app_id": "A0FLARE01",
            "token": "legacy-verification-token",
            "trigger_id": trigger_id or f"{next(_ids)}.trigger.{int(time.time())}",
            "response_url": self.response_url(),
            "actions": [action],
        }
        if view is not None:
            payload["container"] = {"type": "view", "view_id": view.get("id")}
            payload["view"] = view
        else:
            payload["container"] = {
                "type": "message",
                "message_ts": message_ts,
                "channel_id": channel,
                "is_ephemeral": False,
            }
            payload["channel"] = {"id": channel, "name": "channel"}
            payload["message"] = {"type": "message", "ts": message_ts, "text": "", "blocks": []}
        return await self.interactive(payload)

    async def view_submission(
        self,
        callback_id: str,
        values: dict[str, dict[str, Any]],
        *,
        user: str = "U0ALICE01",
        view_id: str | None = None,
        private_metadata: str = "",
        hash_: str = "h1",
    ) -> Reply:
        """A view_submission; `values` is state.values (block_id -> action_id -> value object)."""
        payload = {
            "type": "view_submission",
            "team": {"id": TEAM_ID, "domain": "flare-test"},
            "user": {"id": user, "username": user.lower(), "team_id": TEAM_ID},
            "api_app_id": "A0FLARE01",
            "token": "legacy-verification-token",
            "trigger_id": f"{next(_ids)}.trigger.{int(time.time())}",
            "view": {
                "id": view_id or f"V{next(_ids):08d}",
                "team_id": TEAM_ID,
                "type": "modal",
                "callback_id": callback_id,
                "private_metadata": private_metadata,
                "hash": hash_,
                "state": {"values": values},
                "blocks": [],
            },
            "response_urls": [],
        }
        return await self.interactive(payload)

    async def event(
        self,
        event: dict[str, Any],
        *,
        event_id: str | None = None,
        retry_num: int | None = None,
        retry_reason: str = "http_timeout",
    ) -> Reply:
        """An Events API callback (JSON), optionally marked as Slack's retry."""
        body = {
            "token": "legacy-verification-token",
            "team_id": TEAM_ID,
            "api_app_id": "A0FLARE01",
            "event": event,
            "type": "event_callback",
            "event_id": event_id or f"Ev{next(_ids):010d}",
            "event_time": int(time.time()),
            "authorizations": [{"team_id": TEAM_ID, "user_id": "U0FLAREBOT", "is_bot": True}],
        }
        headers = {}
        if retry_num is not None:
            headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": retry_reason}
        return await self.raw(json.dumps(body).encode(), "application/json", headers=headers)


async def _main(url: str, command: str, text: str, secret: str) -> None:
    async with aiohttp.ClientSession() as session:
        reply = await SlackClient(url, session, secret=secret).command(command, text)
        print(reply.status, reply.text)


if __name__ == "__main__":
    import argparse
    import asyncio

    parser = argparse.ArgumentParser(description="Send a signed slash command to a running Flare.")
    parser.add_argument("url", help="Flare's base URL, e.g. http://127.0.0.1:8080")
    parser.add_argument("command", help="e.g. /incident")
    parser.add_argument("text", nargs="*", help="the command text, e.g. help")
    parser.add_argument("--secret", default=SIGNING_SECRET, help="the SLACK_SIGNING_SECRET Flare runs with")
    args = parser.parse_args()
    asyncio.run(_main(args.url, args.command, " ".join(args.text), args.secret))
