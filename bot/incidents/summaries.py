"""Pure builders for ephemeral answers: an incident's status, its timeline, the open incidents."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.catalog import SEVERITY_ORDER
from bot.incidents.lifecycle import status_label
from bot.incidents.render import Blocks, card, severity_badge
from bot.incidents.text import duration, rich, utc, who
from bot.incidents.types import IncidentSnapshot
from bot.slack.escape import ELLIPSIS, channel_mention, link, safe

SECTION_BUDGET = 2900
EVENT_TEXT_LIMIT = 300
MAX_BLOCKS = 45


@dataclass(frozen=True)
class EventLine:
    """One timeline event as the renderers need it."""

    kind: str
    text: str
    actor: str | None
    occurred_at: datetime
    permalink: str | None = None


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def pack(lines: Sequence[str], *, budget: int = SECTION_BUDGET, max_blocks: int = MAX_BLOCKS) -> Blocks:
    """Lines packed into as few sections as Slack allows; whatever does not fit ends with "…"."""
    blocks: Blocks = []
    current = ""
    for line in lines:
        line = line if len(line) <= budget else line[: budget - 1] + ELLIPSIS
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) <= budget:
            current = candidate
            continue
        blocks.append(_section(current))
        current = line
        if len(blocks) >= max_blocks:
            blocks[-1] = _section(blocks[-1]["text"]["text"][: budget - 1] + ELLIPSIS)
            return blocks
    if current:
        blocks.append(_section(current))
    return blocks


def status_summary(
    s: IncidentSnapshot, now: datetime, channel_id: str | None, failures: Sequence[str] = ()
) -> tuple[str, Blocks]:
    """`/incident status`: the card's content, how long each phase took, and what Slack refused."""
    text, blocks = card(s)
    blocks = blocks[:-1]  # no buttons in an ephemeral answer
    facts = [f"Open for {duration((now - s.declared_at).total_seconds())}"]
    if s.status != "resolved":
        facts.append(f"last update {duration((now - s.last_update_at).total_seconds())} ago")
    else:
        assert s.resolved_at is not None
        facts.append(f"resolved at {utc(s.resolved_at)}")
    where = channel_mention(channel_id) if channel_id else f"#{safe(s.channel_name, 80)}"
    blocks.append(
        {"type": "context", "elements": [{"type": "mrkdwn", "text": " · ".join(facts) + f" · {where}"}]}
    )
    problems: list[str] = []
    if s.channel_error is not None:
        problems.append(
            f":warning: The incident channel could not be created ({safe(s.channel_error, 100)}) — "
            f"run `/incident channel retry {s.human_id}`."
        )
    problems += [f":warning: {safe(f, EVENT_TEXT_LIMIT)}" for f in failures]
    if problems:
        blocks.extend(pack(["*Delivery problems*", *problems], max_blocks=3))
    return text, blocks


def event_line(event: EventLine) -> str:
    """'`14:02` *update* @alice: text' (escaped, truncated)."""
    # Stored event text is as Slack sent it (commands, pinned messages): escaped once, here.
    body = rich(event.text, EVENT_TEXT_LIMIT, from_slack=True) if event.text else ""
    if event.permalink:
        body = f"{body} ({link(event.permalink, 'message')})"
    actor = f" {who(event.actor)}" if event.actor else ""
    kind = safe(event.kind.replace("_", " "), 40)
    return f"`{event.occurred_at:%m-%d %H:%M}` *{kind}*{actor}: {body}"


def timeline(s: IncidentSnapshot, events: Sequence[EventLine], total: int) -> tuple[str, Blocks]:
    """`/incident timeline`: the last events (times in UTC)."""
    head = f"*Timeline of {s.human_id}: {safe(s.title, 150)}* (times UTC)"
    if total > len(events):
        head += f"\nShowing the last {len(events)} of {total} events."
    lines = [event_line(e) for e in events] or ["_No events yet._"]
    return f"Timeline of {s.human_id}", [_section(head), *pack(lines)]


def open_list(incidents: Sequence[IncidentSnapshot], channels: dict[int, str]) -> tuple[str, Blocks]:
    """`/incident list`: open incidents grouped by severity, most severe first."""
    if not incidents:
        return "No open incidents.", [_section(":white_check_mark: No open incidents.")]
    lines: list[str] = []
    for severity in SEVERITY_ORDER:
        group = [s for s in incidents if s.severity == severity]
        if not group:
            continue
        lines.append(f"*{severity_badge(severity)}* ({len(group)})")
        for s in group:
            where = channel_mention(channels[s.id]) if s.id in channels else f"#{safe(s.channel_name, 80)}"
            lines.append(
                f"• *{s.human_id}* {safe(s.title, 120)} — {status_label(s.status)} — "
                f"IC {who(s.commander)} — {where}"
            )
    text = f"{len(incidents)} open incident(s)"
    return text, [_section(f"*{text}*"), *pack(lines)]
