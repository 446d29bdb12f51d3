"""`/deploy gate status`: what blocks deploys and why, as Block Kit (pure)."""

from __future__ import annotations

from typing import Any

from bot.gate.service import GateState
from bot.slack.escape import escape, link, safe, truncate, user_mention


def state_line(state: GateState, workspace: str | None) -> str:
    """One service's gate, with its blocking incidents linked."""
    icon = ":large_green_circle:" if state.open else ":no_entry:"
    lines = [f"{icon} *{escape(state.service)}* ({escape(state.env)}): {'open' if state.open else 'closed'}"]
    for incident in state.incidents:
        url = incident.url(workspace)
        name = link(url, incident.human_id) if url else incident.human_id
        lines.append(f"    • {name} [{escape(incident.severity)}] {safe(incident.title, 200)}")
    if state.override is not None:
        lines.append(
            f"    :unlock: override by {user_mention(state.override.created_by)} until "
            f"{state.override.expires_at:%H:%M} UTC: {safe(state.override.reason, 300)}"
        )
    elif state.open and not state.incidents:
        lines.append(f"    {escape(state.reason)}")
    return "\n".join(lines)


def render_status(
    env: str, states: list[GateState], workspace: str | None
) -> tuple[str, list[dict[str, Any]]]:
    """(text, blocks) for the gate of each service in `env`."""
    closed = [s for s in states if not s.open]
    head = f"Deploy gate ({escape(env)}): " + (
        f"{len(closed)} service{'s' if len(closed) != 1 else ''} blocked" if closed else "open"
    )
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": f"*{head}*"}}]
    for state in states[:45]:
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": truncate(state_line(state, workspace), 2900)},
            }
        )
    return head, blocks
