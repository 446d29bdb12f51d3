"""The alert group "Silence" menu and the "Unsilence" buttons (alert groups and changes).

Both ack at once and finish in the background: Alertmanager gets up to 2 s and the permission
check may ask Slack about user groups, which together would not fit Slack's 3 s.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.container import Container
from bot.silences import groups
from bot.silences.view import DURATIONS, SILENCE_MENU_ACTION, UNSILENCE_ACTION

log = logging.getLogger("flare.silences")


def _who(body: dict[str, Any]) -> tuple[str, str | None]:
    user = str((body.get("user") or {}).get("id") or "")
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")
    return user, str(channel) if channel else None


def parse_choice(body: dict[str, Any]) -> tuple[int, str] | None:
    """(group id, duration key) from the menu's selected option, or None when it is not ours."""
    action = (body.get("actions") or [{}])[0]
    value = str((action.get("selected_option") or {}).get("value") or "")
    group, _, choice = value.partition(":")
    if not group.isdigit() or len(group) > 18 or choice not in DURATIONS:
        return None
    return int(group), choice


def register(bolt: AsyncApp, container: Container) -> None:
    """Register the silence menu and the unsilence button."""
    c = container

    @bolt.action(SILENCE_MENU_ACTION)
    async def silence(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        user, channel = _who(body)
        parsed = parse_choice(body)
        if parsed is None or not user:
            log.warning("silence menu with an unusable value")
            return
        group_id, choice = parsed
        c.spawn(groups.silence_group(c, group_id, choice, user, channel), name=f"silence:{group_id}")

    @bolt.action(UNSILENCE_ACTION)
    async def unsilence(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        user, channel = _who(body)
        value = str((body.get("actions") or [{}])[0].get("value") or "")
        if not value.isdigit() or len(value) > 18 or not user:
            log.warning("unsilence with an unusable value")
            return
        c.spawn(groups.unsilence(c, int(value), user, channel), name=f"unsilence:{value}")
