"""How silences show in Slack: a line (and Unsilence button) on change and alert group messages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.silences.models import Silence
from bot.slack.escape import escape, safe, user_mention

UNSILENCE_ACTION = "silence_expire"
SILENCE_MENU_ACTION = "silence_group"
# The "Silence" menu on alert group messages: option value -> label.
DURATIONS = {"1h": "1 hour", "4h": "4 hours", "resolved": "until resolved"}


@dataclass(frozen=True)
class SilenceView:
    """What a message shows about one silence."""

    id: int
    status: str
    service: str | None
    created_by: str
    ends_at: datetime
    starts_at: datetime
    until_resolved: bool = False
    expired_at: datetime | None = None
    expired_by: str | None = None
    error: str | None = None


def view_of(row: Silence) -> SilenceView:
    """The renderer's view of a stored silence."""
    return SilenceView(
        row.id,
        row.status,
        row.service,
        row.created_by,
        row.ends_at,
        row.starts_at,
        row.until_resolved,
        row.expired_at,
        row.expired_by,
        row.error,
    )


def hhmm(when: datetime) -> str:
    """A Slack time token (each reader's zone) with an `HH:MM UTC` fallback."""
    return f"<!date^{int(when.timestamp())}^{{time}}|{when:%H:%M} UTC>"


def unsilence_button(silence_id: int, label: str = "Unsilence now") -> dict[str, Any]:
    """The button that expires silence #id."""
    return {
        "type": "button",
        "action_id": UNSILENCE_ACTION,
        "text": {"type": "plain_text", "text": label},
        "value": str(silence_id),
    }


def change_line(silence: SilenceView) -> tuple[str, bool]:
    """(mrkdwn, offer Unsilence) for a change's silence."""
    what = f"alerts for *{escape(silence.service or 'the service')}*"
    if silence.status == "active":
        return f":no_bell: {what} silenced until {hhmm(silence.ends_at)}", True
    if silence.status == "creating":
        return f":hourglass_flowing_sand: silencing {what} while the change settles…", False
    if silence.status == "failed":
        reason = safe(silence.error or "no reason given", 500)
        return (
            f":warning: Could not silence {what}: {reason}. The change goes on; expect their alerts "
            "while it settles.",
            False,
        )
    ended = silence.expired_at or silence.ends_at
    who = (
        f" by {user_mention(silence.expired_by)}"
        if silence.expired_by and silence.expired_by != "flare"
        else ""
    )
    return f":bell: {what} were silenced from {hhmm(silence.starts_at)} to {hhmm(ended)}; expired{who}", False


def change_blocks_for(silence: SilenceView | None) -> list[dict[str, Any]]:
    """The block a change message gets for its silence (none without one)."""
    if silence is None:
        return []
    text, offer = change_line(silence)
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
    if offer:
        blocks.append(
            {
                "type": "actions",
                "block_id": f"silence:{silence.id}",
                "elements": [unsilence_button(silence.id)],
            }
        )
    return blocks


async def change_blocks(session: AsyncSession, rollback_id: int) -> list[dict[str, Any]]:
    """The newest silence of change #id as blocks for its message."""
    row = (
        await session.execute(
            select(Silence)
            .where(Silence.rollback_id == rollback_id, Silence.kind == "change")
            .order_by(Silence.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    return change_blocks_for(view_of(row) if row is not None else None)


def group_line(silence: SilenceView) -> str:
    """`🔕 silenced by @x until 14:32` for an alert group message."""
    until = "until resolved" if silence.until_resolved else f"until {hhmm(silence.ends_at)}"
    return f":no_bell: silenced by {user_mention(silence.created_by)} {until}"


def silence_menu(group_id: int) -> dict[str, Any]:
    """The "Silence" menu of an alert group message."""
    return {
        "type": "static_select",
        "action_id": SILENCE_MENU_ACTION,
        "placeholder": {"type": "plain_text", "text": "Silence"},
        "options": [
            {"text": {"type": "plain_text", "text": label}, "value": f"{group_id}:{key}"}
            for key, label in DURATIONS.items()
        ],
    }
