"""Pure Block Kit builders for incident messages: the card, announcements, channel notices, topic."""

from __future__ import annotations

from typing import Any

from bot.catalog import SEVERITY_ORDER
from bot.incidents.lifecycle import status_label
from bot.incidents.text import rich, slack_date, who
from bot.incidents.types import IncidentSnapshot
from bot.slack.escape import safe, truncate, unescape

Blocks = list[dict[str, Any]]
SEVERITY_EMOJI = {"P0": ":red_circle:", "P1": ":large_orange_circle:", "P2": ":large_yellow_circle:"}
STATUS_EMOJI = {
    "declared": ":rotating_light:",
    "acknowledged": ":eyes:",
    "mitigated": ":adhesive_bandage:",
    "resolved": ":white_check_mark:",
}
DESCRIPTION_LIMIT = 2900
FIELD_LIMIT = 1900


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def severity_badge(severity: str) -> str:
    """':red_circle: P0'."""
    return f"{SEVERITY_EMOJI.get(severity, ':white_circle:')} {severity}"


def headline(s: IncidentSnapshot) -> str:
    """'INC-42 · P1 · Acknowledged: <title>' as plain notification text (escaped)."""
    return f"{s.human_id} · {s.severity} · {status_label(s.status)}: {safe(s.title, 200)}"


def card(
    s: IncidentSnapshot,
    *,
    suspects: str | None = None,
    paging: str | None = None,
    console_url: str | None = None,
) -> tuple[str, Blocks]:
    """The pinned summary card: (fallback text, blocks); `suspects` and `paging` are ready mrkdwn.

    `console_url` (the incident's page in the web console, when the console is on) adds a link.
    """
    title = f"{STATUS_EMOJI.get(s.status, '')} *{s.human_id}: {safe(s.title, 200)}*".strip()
    fields = [
        f"*Severity*\n{severity_badge(s.severity)}",
        f"*Status*\n{status_label(s.status)}",
        f"*Commander*\n{who(s.commander)}",
        f"*Comms*\n{who(s.comms)}",
        f"*Service*\n{safe(s.service, 200) if s.service else '_none_'}",
        f"*Started*\n{slack_date(s.declared_at)}",
    ]
    blocks: Blocks = [
        _section(title),
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f[:FIELD_LIMIT]} for f in fields]},
    ]
    if s.description.strip():
        blocks.append(_section(rich(s.description, DESCRIPTION_LIMIT, from_slack=True)))
    if s.status == "resolved" and s.summary:
        blocks.append(_section(f"*Resolution*\n{rich(s.summary, DESCRIPTION_LIMIT, from_slack=True)}"))
    elif s.last_update_text:
        update = rich(s.last_update_text, DESCRIPTION_LIMIT - 100, from_slack=True)
        blocks.append(_section(f"*Latest update* ({slack_date(s.last_update_at)})\n{update}"))
    if paging:
        blocks.append(_section(truncate(paging, DESCRIPTION_LIMIT)))
    if suspects:
        blocks.append(_section(truncate(suspects, DESCRIPTION_LIMIT)))
    footer = f"Declared by {who(s.declared_by)} · `/incident help` for commands"
    if console_url:
        footer += f" · <{console_url}|View in console>"
    blocks.append(_context(footer))
    blocks.append(card_actions(s))
    return headline(s), blocks


def card_actions(s: IncidentSnapshot) -> dict[str, Any]:
    """The card's buttons; the incident id rides in block_id and in each value."""
    value = str(s.id)
    elements: Blocks = []
    if s.status == "declared":
        elements.append(_button("Acknowledge", "incident_ack", value, style="primary"))
    if s.status != "resolved":
        elements.append(_button("Post update", "incident_update", value))
        elements.append(
            {
                "type": "static_select",
                "action_id": "incident_severity",
                "placeholder": {"type": "plain_text", "text": "Change severity"},
                "options": [_option(name) for name in SEVERITY_ORDER],
            }
        )
        elements.append(_button("Resolve", "incident_resolve", value, style="danger"))
    else:
        elements.append(_button("Reopen", "incident_reopen", value))
    elements.append(_button("Generate post-mortem", "incident_postmortem", value))
    return {"type": "actions", "block_id": f"incident-actions-{s.id}", "elements": elements}


def _button(text: str, action_id: str, value: str, *, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": text},
        "action_id": action_id,
        "value": value,
    }
    if style:
        button["style"] = style
    return button


def _option(value: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": value}, "value": value}


def topic(s: IncidentSnapshot) -> str:
    """The channel topic: severity · status · commander."""
    commander = f"IC {who(s.commander)}" if s.commander else "no commander yet"
    return f"{s.severity} · {status_label(s.status)} · {commander}"


def announcement(s: IncidentSnapshot, channel_link: str, *, group: str | None = None) -> tuple[str, Blocks]:
    """The message in the announcement and team channels; `channel_link` is `<#C…>` (or a placeholder).

    When Slack refused the incident channel (`s.channel_error`), it says so, with the way to retry.
    """
    ping = f"<!subteam^{group}> " if group and group.isalnum() else ""
    where = f" on *{safe(s.service, 100)}*" if s.service else ""
    line = f"{ping}{STATUS_EMOJI.get(s.status, '')} *{s.human_id}* {severity_badge(s.severity)}{where}: "
    line += f"{safe(s.title, 200)}"
    detail = f"Status: *{status_label(s.status)}* · Commander: {who(s.commander)}"
    if s.channel_error is None:
        return headline(s), [_section(line), _context(f"{detail} · Join {channel_link}")]
    refused = (
        f":warning: The incident channel could not be created ({safe(s.channel_error, 100)}) — "
        f"coordinate here or run `/incident channel retry {s.human_id}`."
    )
    retry = {
        "type": "actions",
        "block_id": f"incident-channel-{s.id}",
        "elements": [_button("Retry channel", "incident_channel_retry", str(s.id))],
    }
    return headline(s), [_section(line), _context(detail), _section(refused), retry]


def status_notice(s: IncidentSnapshot, actor: str, previous: str, note: str | None) -> tuple[str, Blocks]:
    """Posted in the channel when the status changes."""
    emoji = STATUS_EMOJI.get(s.status, "")
    verb = "reopened" if previous == "resolved" else status_label(s.status).lower()
    line = f"{emoji} {who(actor)} {verb} *{s.human_id}* ({status_label(previous)} → {status_label(s.status)})"
    blocks = [_section(line)]
    if note:
        blocks.append(_section(rich(note, DESCRIPTION_LIMIT, from_slack=True)))
    return f"{s.human_id} {verb}", blocks


def severity_notice(s: IncidentSnapshot, actor: str, previous: str) -> tuple[str, Blocks]:
    """Posted in the channel when the severity changes."""
    line = f":warning: {who(actor)} changed the severity of *{s.human_id}*: {previous} → {s.severity}"
    return f"{s.human_id} severity {previous} → {s.severity}", [_section(line)]


def role_notice(s: IncidentSnapshot, actor: str, role: str, user: str) -> tuple[str, Blocks]:
    """Posted in the channel when a role is assigned."""
    line = f":bust_in_silhouette: {who(user)} is now *{role}* of *{s.human_id}* (assigned by {who(actor)})"
    return f"{s.human_id}: new {role}", [_section(line)]


def update_notice(s: IncidentSnapshot, actor: str, text: str) -> tuple[str, Blocks]:
    """A status update posted in the channel."""
    head = f":mega: *Status update* on *{s.human_id}* ({severity_badge(s.severity)}, "
    head += f"{status_label(s.status)}) from {who(actor)}"
    return f"{s.human_id} update: {safe(unescape(text), 300)}", [
        _section(head),
        _section(rich(text, DESCRIPTION_LIMIT, from_slack=True)),
    ]


def reminder_notice(s: IncidentSnapshot, minutes: int, quiet: int) -> tuple[str, Blocks]:
    """The status-update reminder, mentioning the commander (or the declarer when there is none)."""
    if s.commander:
        target = who(s.commander)
    else:
        target = f"{who(s.declared_by)} (no commander assigned: `/incident assign commander @someone`)"
    line = (
        f":alarm_clock: {target}: no status update on *{s.human_id}* for {quiet} min "
        f"({s.severity} expects one every {minutes} min). Post one with `/incident update <text>` "
        "or the card's *Post update* button."
    )
    return f"{s.human_id}: status update due", [_section(line)]
