"""Block Kit for alert group messages: pure functions of the stored group and its alerts."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.durations import duration as duration
from bot.silences.view import silence_menu, unsilence_button  # issue 13: silences
from bot.slack.escape import PLAIN_TEXT_LIMIT, escape, link, safe, truncate, user_mention

ACK_ACTION = "alert_ack"
DECLARE_ACTION = "alert_declare"
RUNBOOK_ACTION = "runbook_run"
LINK_LABELS = (
    ("source", "open"),
    ("generator", "source"),
    ("dashboard", "dashboard"),
    ("panel", "panel"),
    ("silence", "silence"),
    ("runbook", "runbook"),
)


SOURCE_NAMES = {"alertmanager": "Alertmanager", "grafana": "Grafana"}


@dataclass(frozen=True)
class GroupView:
    """What a group message shows about the group itself."""

    id: int
    title: str
    source: str
    route: str
    severity: str
    firing: int
    total: int
    first_seen: datetime
    service: str | None = None
    env: str | None = None
    mention: str | None = None
    runbook: str | None = None
    group_labels: dict[str, str] = field(default_factory=dict)
    last_ended_at: datetime | None = None
    resolved_at: datetime | None = None
    acked_by: str | None = None
    incident: str | None = None  # "INC-42" when linked
    # issue 13: offer the Silence menu (Alertmanager configured); the live silence, if any.
    silenceable: bool = False
    silence_id: int | None = None
    silence_text: str | None = None
    truncated: int = 0  # alerts the source did not send (Alertmanager's truncatedAlerts)


@dataclass(frozen=True)
class AlertLine:
    """One alert as listed in a group message or an incident thread."""

    id: int
    title: str
    status: str
    starts_at: datetime
    summary: str = ""
    ends_at: datetime | None = None
    links: dict[str, str] = field(default_factory=dict)


def slack_time(when: datetime) -> str:
    """A Slack date token that shows in each reader's time zone, with a UTC fallback."""
    fallback = when.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(when.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def headline(group: GroupView) -> str:
    """`[P1] HighLatency · checkout (production)`, escaped."""
    where = ""
    if group.service:
        where = f" · {escape(group.service)}" + (f" ({escape(group.env)})" if group.env else "")
    return f"*[{escape(group.severity)}] {safe(group.title, 300)}*{where}"


def fallback_text(group: GroupView) -> str:
    """The notification text: state, severity, title and counts."""
    resolved = group.total - group.firing
    if group.resolved_at is not None:
        return truncate(f"✅ Resolved: [{group.severity}] {escape(group.title)} ({group.total} alerts)", 3000)
    return truncate(
        f"🔥 [{group.severity}] {escape(group.title)}: {group.firing} firing, {resolved} resolved", 3000
    )


def render_group(
    group: GroupView, alerts: list[AlertLine], *, max_shown: int = 10, in_incident: bool = False
) -> tuple[str, list[dict[str, Any]]]:
    """(text, blocks) for the group message; `in_incident` is the copy posted in the incident channel."""
    done = group.resolved_at is not None
    lines = []
    if done:
        took = ""
        if group.last_ended_at is not None:
            took = f" after {duration((group.last_ended_at - group.first_seen).total_seconds())}"
        lines.append(f"✅ {headline(group)} — resolved{took}")
    else:
        lines.append(f"🔥 {headline(group)}")
        if group.mention and not in_incident:
            lines.append(f"<!subteam^{group.mention}>")
    blocks: list[dict[str, Any]] = [_section("\n".join(lines))]

    resolved = group.total - group.firing
    facts = [f"*{group.firing} firing* · {resolved} resolved", f"first seen {slack_time(group.first_seen)}"]
    facts.append(f"{escape(group.source)} · route {escape(group.route)}")
    if group.acked_by:
        facts.append(f"👀 acknowledged by {user_mention(group.acked_by)}")
    if group.incident:
        facts.append(f"🚨 linked to {escape(group.incident)}")
    if group.silence_text:
        facts.append(group.silence_text)
    blocks.append(_context(" · ".join(facts)))
    if group.group_labels:
        labels = ", ".join(f"{k}={v}" for k, v in sorted(group.group_labels.items()) if v)
        if labels:
            blocks.append(_context(safe(labels, 1000)))

    shown = alerts[:max_shown]
    if shown:
        blocks.append({"type": "divider"})
    for alert in shown:
        blocks.append(_section(alert_line(alert)))
    hidden = group.total - len(shown)
    if hidden > 0 or group.truncated > 0:
        more = f"…and {hidden + group.truncated:,} more alert{'s' if hidden + group.truncated != 1 else ''}"
        if group.truncated > 0:
            more += (
                f", {group.truncated:,} not sent by {escape(SOURCE_NAMES.get(group.source, group.source))}"
            )
        blocks.append(_context(more + " in this group"))

    buttons = _buttons(group, done=done, in_incident=in_incident)
    if buttons:
        blocks.append({"type": "actions", "block_id": f"alert-group:{group.id}", "elements": buttons})
    return fallback_text(group), blocks[:50]


def alert_line(alert: AlertLine) -> str:
    """`🔥 *HighLatency* — p99 above 2s` plus its links, escaped and within Slack's limits."""
    icon = "🔥" if alert.status == "firing" else "✅"
    return truncate(f"{icon} {_alert_body(alert)}", 2900)


def _alert_body(alert: AlertLine) -> str:
    text = f"*{safe(alert.title, 300)}*"
    if alert.summary:
        text += f" — {safe(alert.summary, 1500)}"
    links = [link(alert.links[name], label) for name, label in LINK_LABELS if alert.links.get(name)]
    if links:
        text += "\n" + " · ".join(links)
    return text


def thread_text(group: GroupView, fired: list[AlertLine], resolved: list[AlertLine], more: int) -> str:
    """A reply in the incident channel's thread: which alerts fired or resolved since the last one."""
    lines = []
    for alert in fired:
        lines.append(f"🔥 fired {slack_time(alert.starts_at)}: {_alert_body(alert)}")
    for alert in resolved:
        when = slack_time(alert.ends_at or alert.starts_at)
        lines.append(f"✅ resolved {when}: {_alert_body(alert)}")
    if more:
        lines.append(f"…and {more} more alert change{'s' if more != 1 else ''} in {safe(group.title, 200)}")
    return truncate("\n".join(lines), 3000)


def runbook_value(runbook: str, service: str | None, env: str | None) -> str:
    """The `runbook_run` button value the runbooks feature reads."""
    return json.dumps({"runbook": runbook, "service": service, "env": env}, separators=(",", ":"))


def _buttons(group: GroupView, *, done: bool, in_incident: bool) -> list[dict[str, Any]]:
    buttons: list[dict[str, Any]] = []
    if not done and not group.acked_by:
        buttons.append(_button("Acknowledge", ACK_ACTION, str(group.id)))
    if not group.incident and not in_incident:
        buttons.append(_button("Declare incident", DECLARE_ACTION, str(group.id), style="danger"))
    if group.runbook:
        buttons.append(
            _button("Run runbook", RUNBOOK_ACTION, runbook_value(group.runbook, group.service, group.env))
        )
    if group.silence_id is not None:
        buttons.append(unsilence_button(group.silence_id, "Unsilence"))
    elif group.silenceable and not done:
        buttons.append(silence_menu(group.id))
    return buttons


def _button(label: str, action_id: str, value: str, *, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": label[:PLAIN_TEXT_LIMIT]},
        "value": value[:2000],
    }
    if style:
        button["style"] = style
    return button


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, 3000)}}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(text, 3000)}]}
