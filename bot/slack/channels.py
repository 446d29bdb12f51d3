"""Creating incident channels idempotently, even when Slack says the name is taken."""

from __future__ import annotations

from typing import Any

from bot.slack.gateway import SlackGateway, SlackPermanentError


class ChannelCreator:
    """conversations.create that reuses a channel we made earlier and suffixes names taken by others."""

    def __init__(self, gateway: SlackGateway) -> None:
        self.gateway = gateway
        self._bot_user_id: str | None = None

    async def create(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Create the channel named in `payload`; the response has the channel under "channel"."""
        base = str(payload["name"])[:80]
        for attempt in range(1, 6):
            name = base if attempt == 1 else f"{base[: 80 - 3]}-{attempt}"
            try:
                return await self.gateway.call(
                    "conversations.create", {"name": name, "is_private": bool(payload.get("is_private"))}
                )
            except SlackPermanentError as exc:
                if exc.error != "name_taken":
                    raise
                # name_taken after a crash between Slack's answer and our commit: it may be ours.
                existing = await self._find_own_channel(name)
                if existing is not None:
                    return {"ok": True, "channel": existing, "reused": True}
        raise SlackPermanentError("conversations.create", "name_taken")

    async def _find_own_channel(self, name: str) -> dict[str, Any] | None:
        if self._bot_user_id is None:
            auth = await self.gateway.call("auth.test", {})
            self._bot_user_id = str(auth.get("user_id") or "")
        cursor = ""
        for _ in range(50):
            page = await self.gateway.call(
                "conversations.list",
                {
                    "types": "public_channel,private_channel",
                    "exclude_archived": True,
                    "limit": 1000,
                    "cursor": cursor,
                },
            )
            for channel in page.get("channels", []):
                if channel.get("name") == name:
                    return channel if channel.get("creator") == self._bot_user_id else None
            cursor = str((page.get("response_metadata") or {}).get("next_cursor") or "")
            if not cursor:
                return None
        return None
