"""Pure texts about pages: the card line, channel notices, the private note and `/incident page`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.incidents.text import slack_date, who
from bot.slack.escape import escape, safe

ADVICE = "Call the on-call directly."


@dataclass(frozen=True)
class PageView:
    """What the renderers need of a page."""

    team: str
    state: str
    requested_by: str
    created_at: datetime
    accepted_at: datetime | None
    failed_at: datetime | None
    last_error: str | None
    alerted: bool


def refused(reason: str | None) -> str:
    """'PagerDuty refused the page: invalid routing key.' (plain text; escaped where it is shown)."""
    return f"PagerDuty refused the page: {reason or 'no reason given'}."


def not_sent(reason: str) -> str:
    """Why Flare itself could not send a page (plain text)."""
    return f"Flare could not send the page: {reason}."


def late(seconds: float, reason: str | None) -> str:
    """Why a page that is still being retried is shown as not delivered (plain text)."""
    why = f" (last error: {reason})" if reason else ""
    return f"PagerDuty has not accepted the page after {seconds:.0f} s{why}; Flare keeps retrying."


def line(p: PageView) -> str:
    """One page as mrkdwn: accepted with its time, waiting, or failed, loudly."""
    team = safe(p.team, 64)
    if p.state == "accepted" and p.accepted_at is not None:
        return f":pager: Paged {team} on-call via PagerDuty at {slack_date(p.accepted_at)}"
    if p.state == "cancelled":
        return f":pager: Page to {team} on-call not sent: the incident was resolved before PagerDuty took it."
    if p.state == "failed":
        why = escape(p.last_error or refused(None))
        return f":rotating_light: *Page to {team} on-call FAILED.* {why} {ADVICE}"
    if p.alerted:
        reason = f" (last error: {escape(p.last_error)})" if p.last_error else ""
        return (
            f":rotating_light: *Page to {team} on-call NOT delivered yet*{reason}; Flare keeps retrying. "
            f"{ADVICE}"
        )
    return f":pager: Paging {team} on-call via PagerDuty (requested {slack_date(p.created_at)})…"


def card_section(pages: Sequence[PageView], unconfigured: str | None) -> str | None:
    """The card's paging section, or None when there is nothing to say."""
    lines = [line(p) for p in pages]
    if unconfigured:
        lines.append(not_configured(unconfigured))
    return "\n".join(lines) if lines else None


def not_configured(team: str) -> str:
    """Why a team was not paged."""
    return (
        f":warning: Not paged: paging is not configured for team {safe(team, 64)} "
        "(add `pagerduty: {routing_key_env: ...}` to the team in the catalog)."
    )


def failure_notice(team: str, reason: str) -> str:
    """The loud channel message (and private note) when a page failed or is late; `reason` is plain."""
    return f":rotating_light: *Page to {safe(team, 64)} on-call failed.* {escape(reason)} {ADVICE}"


def listing(pages: Sequence[PageView], human_id: str) -> str:
    """`/incident page` without arguments: who was paged and when."""
    if not pages:
        return f"Nobody has been paged for {human_id} yet. `/incident page <team> [message]` pages a team."
    rows = [f"*Pages for {human_id}*"]
    for p in pages:
        rows.append(f"• {line(p)} — requested by {who(p.requested_by)}")
    return "\n".join(rows)


def with_oncall(view: dict[str, Any], line: str) -> dict[str, Any]:
    """The declare modal with the on-call line right after the severity input."""
    blocks = [b for b in view.get("blocks", []) if b.get("block_id") != "oncall"]
    at = next((i + 1 for i, b in enumerate(blocks) if b.get("block_id") == "severity"), len(blocks))
    context = {"type": "context", "block_id": "oncall", "elements": [{"type": "mrkdwn", "text": line[:2900]}]}
    blocks.insert(at, context)
    return {**view, "blocks": blocks}
