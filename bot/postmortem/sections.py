"""The narrative sections of the draft: summary, impact, detection, metrics, analysis, actions, lessons."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.postmortem.links import Link, SlackLinks, event_links, link_pairs
from bot.postmortem.markdown import (
    block,
    cell,
    checked_link,
    clock,
    duration,
    inline,
    is_user_id,
    link_label,
    stamp,
    table,
    user,
)
from bot.postmortem.marks import MARKED_KINDS, action_type, marked
from bot.postmortem.metrics import Milestones, first_alert, response_metrics
from bot.postmortem.model import ActionItemFacts, IncidentFacts, References, TimelineEvent

SUMMARY_UPDATES = 5
NOTE_LIMIT = 2000
TODO_TRIGGER = "_TODO: what set the incident off (a deploy, a config change, a traffic spike…)?_"
TODO_ROOT_CAUSE = "_TODO: why did it happen? Keep asking why until the answer is something you can fix._"
TODO_RESOLUTION = "_TODO: what stopped the impact, and what made it final?_"
LESSON_TITLES = {
    "went_well": "What went well",
    "went_wrong": "What went wrong",
    "lucky": "Where we got lucky",
}
LESSON_TODOS = {
    "went_well": "_TODO: what helped (alerts that fired early, a runbook that worked, quick rollback)?_",
    "went_wrong": "_TODO: what slowed the response or made the impact worse?_",
    "lucky": "_TODO: what went right by chance and needs to be made reliable?_",
}
MARK_HINTS = {
    "trigger": "trigger",
    "root_cause": "root cause",
    "resolution": "resolution",
    "went_well": "went well",
    "went_wrong": "went wrong",
    "lucky": "lucky",
}


@dataclass(frozen=True)
class Context:
    """Everything the sections read (events already in time order)."""

    incident: IncidentFacts
    events: list[TimelineEvent]
    items: list[ActionItemFacts]
    refs: References
    workspace: str | None
    moments: Milestones
    slack: SlackLinks
    _links: dict[int, list[Link]] = field(default_factory=dict)
    _urls: dict[object, str | None] = field(default_factory=dict)
    _texts: dict[int, str] = field(default_factory=dict)
    _labels: dict[str, str] = field(default_factory=dict)
    _marked: dict[str, list[str]] = field(default_factory=dict)
    _kinds: dict[str, list[TimelineEvent]] = field(default_factory=dict)

    def of_kind(self, *kinds: str) -> list[TimelineEvent]:
        """The events of these kinds, in time order (grouped by kind once per render; do not modify)."""
        if not self._kinds:
            for event in self.events:
                self._kinds.setdefault(event.kind, []).append(event)
        found = [self._kinds[kind] for kind in kinds if kind in self._kinds]
        if len(found) > 1:
            return [event for event in self.events if event.kind in kinds]
        return found[0] if found else []

    def links(self, event: TimelineEvent) -> list[Link]:
        """The links of one event (worked out once per render)."""
        found = self._links.get(event.id)
        if found is None:
            found = self._links[event.id] = event_links(event, self.incident.id, self.slack, self._urls)
        return found

    def links_text(self, event: TimelineEvent) -> str:
        """The event's links as Markdown, joined by ' · ' (empty when it has none).

        Only the text is kept: the timeline asks this for every event, the other sections for a few.
        """
        text = self._texts.get(event.id)
        if text is None:
            pairs = link_pairs(event, self.incident.id, self.slack, self._urls)
            text = self._texts[event.id] = self._joined(pairs) if pairs else ""
        return text

    def _joined(self, links: Sequence[tuple[str, str]]) -> str:
        labels = self._labels
        parts = []
        for label, url in links:
            text = labels.get(label)
            if text is None:
                text = labels[label] = link_label(label)
            parts.append(f"[{text}]({url})")
        return " · ".join(parts)

    def marked(self, section: str) -> list[str]:
        """Bullets for the notes marked for `section` (all sections are worked out in one pass)."""
        if not self._marked:
            self._marked["_done"] = []
            for event in self.of_kind(*MARKED_KINDS):
                found = marked(event.kind, event.text)
                if found is not None:
                    self._marked.setdefault(found.section, []).append(
                        f"- {cell(found.text, NOTE_LIMIT)} ({user(event.actor)}, {stamp(event.occurred_at)})"
                    )
        return self._marked.get(section, [])


def initial_severity(ctx: Context) -> str:
    """The severity the incident was declared with."""
    for event in ctx.of_kind("severity_changed"):
        if isinstance(event.data.get("from"), str):
            return str(event.data["from"])
    return ctx.incident.severity


def participants(ctx: Context) -> list[str]:
    """Slack users who took part, in order of first appearance."""
    inc = ctx.incident
    # In order of first appearance (assigning to a key already there keeps its place).
    people = dict.fromkeys((inc.declared_by, inc.commander, inc.comms))
    for event in ctx.events:
        people[event.actor] = None
        if event.kind == "role_assigned":
            people[str(event.data.get("user") or "")] = None
    for item in ctx.items:
        people[item.created_by] = None
        people[item.owner] = None
    return [p for p in people if p and is_user_id(p)]


def links_text(links: Sequence[Link]) -> str:
    """Links as Markdown, joined by ' · '."""
    return " · ".join(checked_link(item.label, item.url) for item in links)


def summary(ctx: Context) -> list[str]:
    """Summary: a generated sentence, then the resolve summary or the latest status updates."""
    inc = ctx.incident
    where = f" on **{inline(inc.service, 100)}**" if inc.service else ""
    line = f"**{inline(inc.severity, 8)}** incident{where}, declared {stamp(inc.declared_at)}"
    line += f" by {user(inc.declared_by)}"
    if ctx.moments.resolved is not None:
        open_for = duration((ctx.moments.resolved.at - ctx.moments.impact_start.at).total_seconds())
        line += f"; resolved {stamp(ctx.moments.resolved.at)}, {open_for} after impact started."
    else:
        line += f"; currently **{inline(inc.status, 20)}**."
    lines = ["## Summary", "", line, ""]
    if inc.summary and inc.summary.strip():
        lines += [f"Resolution summary ({user(inc.resolved_by)}):", "", block(inc.summary, NOTE_LIMIT)]
    else:
        updates = ctx.of_kind("update")
        if updates:
            shown = updates[-SUMMARY_UPDATES:]
            lines.append(f"Status updates ({len(updates)} in all; the latest {len(shown)}):")
            lines.append("")
            lines += [f"- {stamp(e.occurred_at)}, {user(e.actor)}: {cell(e.text, NOTE_LIMIT)}" for e in shown]
        elif inc.description.strip():
            lines += ["Description at declaration:", "", block(inc.description, NOTE_LIMIT)]
    lines += ["", "_TODO: two or three sentences: what happened, who was affected, how it ended._"]
    return lines


def impact(ctx: Context) -> list[str]:
    """Impact: window, duration, services, severity changes, alert counts."""
    m = ctx.moments
    end = m.mitigated or m.resolved
    if end is not None:
        window = (
            f"{stamp(m.impact_start.at)} → {stamp(end.at)} "
            f"({duration((end.at - m.impact_start.at).total_seconds())}), from impact start "
            f"({m.impact_start.basis}) to {'mitigation' if m.mitigated else 'resolution'}"
        )
    else:
        window = f"{stamp(m.impact_start.at)} → ongoing ({m.impact_start.basis}; not mitigated yet)"
    services = [ctx.incident.service] if ctx.incident.service else []
    for event in ctx.events:
        name = event.data.get("service") if event.data else None
        if isinstance(name, str) and name:
            services.append(name)
    changes = [
        f"{inline(e.data.get('from', '?'), 8)} → {inline(e.data.get('to', '?'), 8)} at "
        f"{stamp(e.occurred_at)} by {user(e.actor)}"
        for e in ctx.of_kind("severity_changed")
    ]
    severity = f"declared {inline(initial_severity(ctx), 8)}"
    severity += "; " + "; ".join(changes) if changes else "; unchanged"
    fired = {e.data.get("alert_id") for e in ctx.of_kind("alert_fired")}
    resolved = {e.data.get("alert_id") for e in ctx.of_kind("alert_resolved")}
    lines = [
        "## Impact",
        "",
        f"- **Window:** {window}.",
        f"- **Services:** {', '.join(inline(s, 100) for s in dict.fromkeys(services)) or '—'}.",
        f"- **Severity:** {severity}.",
        f"- **Alerts:** {len(fired)} fired, {len(resolved)} resolved.",
        "",
        "_TODO: who was affected and how (users, requests, revenue, data)?_",
    ]
    return lines


def detection(ctx: Context) -> list[str]:
    """Detection: the first alert and its source, or who declared."""
    inc = ctx.incident
    lines = ["## Detection", ""]
    fired = first_alert(ctx.events, ctx.refs)
    if fired is not None:
        event, alert = fired
        title = alert.title if alert is not None else event.text
        source = f" from **{inline(alert.source, 40)}**" if alert is not None else ""
        received = f", received {stamp(alert.received_at)}" if alert is not None else ""
        links = ctx.links_text(event)
        lines.append(
            f"First alert: **{inline(title, 300)}**{source}, "
            f"firing since {stamp(event.occurred_at)}{received}" + (f" ({links})" if links else "") + "."
        )
    else:
        lines.append("No alert reached Flare before the incident was declared.")
    how = "automatically by Flare" if inc.declared_by == "flare" else f"by {user(inc.declared_by)}"
    lines.append("")
    lines.append(f"Declared {how} at {stamp(inc.declared_at)} (source: {inline(inc.source, 32)}).")
    lines += ["", f"Detected at {stamp(ctx.moments.detected.at)}: {ctx.moments.detected.basis}."]
    lines += ["", "_TODO: could we have detected it sooner? Which signal would have caught it?_"]
    return lines


def response(ctx: Context) -> list[str]:
    """Response metrics with their definitions, and the moments they are measured between."""
    rows = []
    for metric in response_metrics(ctx.moments):
        seconds = metric.seconds
        value = duration(seconds) if seconds is not None else "— (not yet)"
        span = f"{clock(metric.start.at)} → {clock(metric.end.at)}" if metric.end else "—"
        rows.append([metric.name, value, span, metric.definition])
    m = ctx.moments
    moments = [
        ("Impact start", m.impact_start),
        ("Detection", m.detected),
        ("Acknowledgement", m.acknowledged),
        ("Mitigation", m.mitigated),
        ("Resolution", m.resolved),
    ]
    lines = ["## Response metrics", ""]
    lines += table(["Metric", "Duration", "From → to (UTC)", "Definition"], rows)
    lines += ["", "Measured between these moments:", ""]
    for name, moment in moments:
        text = f"{stamp(moment.at)}: {moment.basis}" if moment else "not yet"
        lines.append(f"- **{name}:** {text}.")
    lines += [
        "",
        "Impact start is the earliest of the recorded impact start and the first alert's start; detection "
        "is the earlier of Flare receiving the first alert and the declaration; acknowledgement is the "
        "first acknowledgement of the incident or of one of its alerts.",
    ]
    return lines


def analysis(ctx: Context) -> list[list[str]]:
    """Trigger, root cause and resolution: marked notes, else placeholders naming the marker."""
    out = []
    for section, title, todo in (
        ("trigger", "Trigger", TODO_TRIGGER),
        ("root_cause", "Root cause", TODO_ROOT_CAUSE),
        ("resolution", "Resolution", TODO_RESOLUTION),
    ):
        lines = [f"## {title}", ""]
        found = ctx.marked(section)
        if section == "resolution" and not found:
            found = _resolution_notes(ctx)
        if found:
            lines += found
        else:
            lines += [todo, "", f"_Prefill it from Slack: `/incident note {MARK_HINTS[section]}: …`._"]
        out.append(lines)
    return out


def _resolution_notes(ctx: Context) -> list[str]:
    lines = []
    for event in ctx.of_kind("status_changed"):
        note = event.data.get("note")
        if isinstance(note, str) and note.strip() and event.data.get("to") in ("mitigated", "resolved"):
            lines.append(
                f"- {cell(note, NOTE_LIMIT)} ({user(event.actor)} when marking it "
                f"{inline(event.data['to'], 20)}, {stamp(event.occurred_at)})"
            )
    return lines


def action_items(ctx: Context) -> list[str]:
    """Action items from `/incident action`, with type (from a `prevent:`… prefix), owner and status."""
    lines = ["## Action items", ""]
    if not ctx.items:
        return [*lines, "_None recorded yet. Add them in Slack: `/incident action <text> [@owner]`._"]
    rows = []
    for n, item in enumerate(ctx.items, start=1):
        kind, text = action_type(item.text)
        owner = user(item.owner) if item.owner else "_unassigned_"
        rows.append([str(n), cell(text, NOTE_LIMIT), kind or "—", owner, inline(item.status, 16)])
    return lines + table(["#", "Action item", "Type", "Owner", "Status"], rows)


def lessons(ctx: Context) -> list[str]:
    """Lessons learned: went well / went wrong / where we got lucky (marked notes or placeholders)."""
    lines = ["## Lessons learned"]
    for section in ("went_well", "went_wrong", "lucky"):
        lines += ["", f"### {LESSON_TITLES[section]}", ""]
        found = ctx.marked(section)
        lines += found or [LESSON_TODOS[section]]
    return lines
