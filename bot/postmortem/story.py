"""The timeline table and the supporting information (links to alerts, deploys, changes, messages)."""

from __future__ import annotations

from datetime import UTC

from bot.postmortem.links import Link, channel_url
from bot.postmortem.markdown import cell, inline, link, stamp, table, user, utc
from bot.postmortem.model import TimelineEvent
from bot.postmortem.sections import Context, links_text

EVENT_TEXT_LIMIT = 1000
_TWO = [f"{n:02d}" for n in range(60)]
LIST_LIMIT = 50
LABELS = {
    "declared": "Declared",
    "severity_changed": "Severity",
    "status_changed": "Status",
    "role_assigned": "Role",
    "update": "Status update",
    "note": "Note",
    "action_item": "Action item",
    "pinned": "Pinned message",
    "reminder": "Reminder",
    "alert_fired": "Alert fired",
    "alert_resolved": "Alert resolved",
    "alert_acknowledged": "Alert acknowledged",
    "deploy": "Deploy",
    "traffic_change": "Traffic change",
    "rollback": "Rollback",
    "rollback_refused": "Rollback refused",
    "runbook_step": "Runbook",
    "health_check": "Health check",
}


def label(kind: str) -> str:
    """The bold label a timeline row starts with."""
    return LABELS.get(kind) or inline(kind.replace("_", " ").capitalize(), 32)


def _links(links: list[Link]) -> str:
    return links_text(links)


def event_text(event: TimelineEvent) -> str:
    """What happened, escaped for a table cell."""
    if event.kind == "role_assigned" and event.data.get("role") and event.data.get("user"):
        return f"{inline(event.data['role'], 20)}: {user(str(event.data['user']))}"
    return cell(event.text, EVENT_TEXT_LIMIT)


def timeline(ctx: Context) -> list[str]:
    """The timeline as a table: UTC time (the date when it changes), actor, event with its links."""
    lines = ["## Timeline", "", "All times UTC.", ""]
    if not ctx.events:
        return [*lines, "_No events recorded._"]
    lines += table(["Time (UTC)", "Actor", "Event"], [])
    # One row per event, 10,000 in a long incident: what repeats (actors, labels) is worked out once.
    actors: dict[str | None, str] = {}
    labels: dict[str, str] = {}
    links_text = ctx.links_text
    append = lines.append
    previous_day = -1
    for event in ctx.events:
        when = event.occurred_at
        if when.tzinfo is not UTC:
            when = utc(when)
        day = when.toordinal()
        time = f"{_TWO[when.hour]}:{_TWO[when.minute]}:{_TWO[when.second]}"
        if day != previous_day:
            time = f"{when.date().isoformat()} {time}"
            previous_day = day
        who = actors.get(event.actor)
        if who is None:
            who = actors[event.actor] = user(event.actor)
        kind = event.kind
        head = labels.get(kind)
        if head is None:
            head = labels[kind] = f"**{label(kind)}**"
        if kind == "role_assigned":
            text = f"{head} {event_text(event)}".rstrip()
        else:
            text = f"{head} {cell(event.text, EVENT_TEXT_LIMIT)}".rstrip()
        links = links_text(event)
        append(f"| {time} | {who} | {text} ({links}) |" if links else f"| {time} | {who} | {text} |")
    return lines


def _capped(entries: list[str], total: int) -> list[str]:
    if total <= len(entries):
        return entries
    return [*entries, f"- … and {total - len(entries)} more in the timeline above"]


def supporting(ctx: Context) -> list[str]:
    """Supporting information: the channel, then alerts, deploys, changes, runbooks and pinned messages."""
    inc = ctx.incident
    url = channel_url(ctx.workspace, inc.channel_id)
    name = f"#{inc.channel_name}"
    channel = link(name, url) if url else inline(name, 81)
    lines = ["## Supporting information", "", f"- Incident channel: {channel}"]
    lines.append(f"- The full record as JSON: `GET /api/incidents/{inc.id}` (bearer FLARE_API_TOKEN)")
    groups = [
        ("Alerts", _alerts(ctx)),
        ("Deploys and traffic changes", _by_event(ctx, ("deploy", "traffic_change"))),
        ("Rollbacks and changes made with Flare", _changes(ctx)),
        ("Runbook runs", _runbooks(ctx)),
        ("Pinned messages", _by_event(ctx, ("pinned",))),
    ]
    for title, (entries, total) in groups:
        if entries:
            lines += ["", f"### {title}", "", *_capped(entries, total)]
    if ctx.workspace is None:
        lines += [
            "",
            "_Slack messages are not linked: set `incidents.slack_workspace_url` in the catalog "
            "(e.g. https://acme.slack.com)._",
        ]
    return lines


def _alerts(ctx: Context) -> tuple[list[str], int]:
    seen: dict[object, TimelineEvent] = {}
    for event in ctx.of_kind("alert_fired"):
        alert_id = event.data.get("alert_id")
        if alert_id is not None and alert_id not in seen:
            seen[alert_id] = event
    entries = []
    for alert_id, event in list(seen.items())[:LIST_LIMIT]:
        alert = ctx.refs.alerts.get(alert_id) if isinstance(alert_id, int) else None
        title = inline(alert.title, 300) if alert else cell(event.text, 300)
        source = f" ({inline(alert.source, 40)})" if alert else ""
        links = ctx.links_text(event)
        entries.append(
            f"- {title}{source}, firing since {stamp(event.occurred_at)}" + (f": {links}" if links else "")
        )
    return entries, len(seen)


def _by_event(ctx: Context, kinds: tuple[str, ...]) -> tuple[list[str], int]:
    found = ctx.of_kind(*kinds)
    entries = []
    for event in found[:LIST_LIMIT]:
        links = ctx.links_text(event)
        who = f" {user(event.actor)}" if event.actor else ""
        entries.append(
            f"- {stamp(event.occurred_at)}{who}: {cell(event.text, 300)}" + (f" ({links})" if links else "")
        )
    return entries, len(found)


def _changes(ctx: Context) -> tuple[list[str], int]:
    last: dict[int, TimelineEvent] = {}
    for event in ctx.of_kind("rollback", "rollback_refused", "traffic_change"):
        rollback_id = event.data.get("rollback_id")
        if isinstance(rollback_id, int):
            last[rollback_id] = event
    entries = []
    for rollback_id in sorted(last)[:LIST_LIMIT]:
        event = last[rollback_id]
        links = _links([item for item in ctx.links(event) if item.label.startswith("change #")])
        entries.append(f"- Change #{rollback_id}: {cell(event.text, 300)}" + (f" ({links})" if links else ""))
    return entries, len(last)


def _runbooks(ctx: Context) -> tuple[list[str], int]:
    runs: dict[int, TimelineEvent] = {}
    for event in ctx.of_kind("runbook_step"):
        run_id = event.data.get("run_id")
        if isinstance(run_id, int):
            runs.setdefault(run_id, event)
    entries = []
    for run_id in sorted(runs)[:LIST_LIMIT]:
        event = runs[run_id]
        data = event.data
        what = inline(data.get("runbook") or "runbook", 100)
        where = f" on {inline(data['service'], 100)}" if data.get("service") else ""
        where += f" ({inline(data['env'], 60)})" if data.get("env") else ""
        links = _links([item for item in ctx.links(event) if item.label.startswith("runbook run")])
        entries.append(
            f"- Run #{run_id}: {what}{where}, started {stamp(event.occurred_at)}"
            + (f" ({links})" if links else "")
        )
    return entries, len(runs)
