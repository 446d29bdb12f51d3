"""Fake Slack, channels and people: conversations.*, usergroups, users.info, views.*, auth.test."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tests.fakes.slack_chat import channel_json, message_json
from tests.fakes.slack_state import (
    BOT_ID,
    BOT_USER_ID,
    TEAM_ID,
)

if TYPE_CHECKING:
    pass


class ConversationsApi:
    """Channels, members, user groups, modals and the bot's identity."""

    def _m_auth_test(self, _p: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": "https://flare-test.slack.com/",
            "team": "Flare Test",
            "user": "flare",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
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
        return {"channel": channel_json(channel)}

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
        return {"channel": channel_json(channel)}

    def _m_conversations_setTopic(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(p.get("channel"))
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        if len(str(p.get("topic", ""))) > 250:
            return {"ok": False, "error": "too_long"}
        channel.topic = str(p.get("topic", ""))
        return {"channel": channel_json(channel)}

    def _m_conversations_info(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(p.get("channel"))
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        return {"channel": channel_json(channel)}

    def _m_conversations_list(self, p: dict[str, Any]) -> dict[str, Any]:
        channels = sorted(self.channels.values(), key=lambda c: c.id)
        start = int(p.get("cursor") or 0)
        limit = int(p.get("limit") or 100)
        page = channels[start : start + limit]
        cursor = str(start + limit) if start + limit < len(channels) else ""
        return {"channels": [channel_json(c) for c in page], "response_metadata": {"next_cursor": cursor}}

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
        return {"messages": [message_json(m) for m in found[:limit]], "has_more": len(found) > limit}

    def _m_conversations_replies(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(p.get("channel"))
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        ts = p.get("ts")
        found = [m for m in self.messages.get(channel.id, []) if m.ts == ts or m.thread_ts == ts]
        return {"messages": [message_json(m) for m in found]}

    def _m_conversations_join(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(p.get("channel"))
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        channel.members.add(BOT_USER_ID)
        return {"channel": channel_json(channel)}

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
