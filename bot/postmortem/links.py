"""Which links a timeline event carries: stored URLs, permalinks, and the Slack messages it caused."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.postmortem.markdown import safe_url
from bot.postmortem.model import References, SlackMessage, TimelineEvent

MAX_LINKS = 6
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")
_TS = re.compile(r"^\d+\.\d+$")
_WORKSPACE = re.compile(r"^(https://[a-z0-9][a-z0-9.-]*\.slack\.com)/archives/", re.IGNORECASE)
# data keys holding URLs, with the label each gets, in the order they are shown.
URL_KEYS = (
    ("permalink", "message"),
    ("commit_url", "commit"),
    ("pipeline_url", "pipeline"),
    ("run_url", "run"),
    ("logs_url", "logs"),
    ("dashboard_url", "dashboard"),
    ("url", ""),
)
URL_LABELS = {
    "alert_fired": "alert",
    "alert_resolved": "alert",
    "deploy": "deploy",
    "traffic_change": "change",
}


@dataclass(frozen=True)
class Link:
    """A labelled URL."""

    label: str
    url: str


def message_url(workspace: str | None, message: SlackMessage | None) -> str | None:
    """The permalink of a delivered Slack message (https://acme.slack.com/archives/C1/p1700000000000100)."""
    if workspace is None or message is None:
        return None
    if not _CHANNEL_ID.match(message.channel) or not _TS.match(message.ts):
        return None
    return f"{workspace}/archives/{message.channel}/p{message.ts.replace('.', '')}"


def channel_url(workspace: str | None, channel_id: str | None) -> str | None:
    """A link to a Slack channel of the workspace."""
    if workspace is None or not channel_id or not _CHANNEL_ID.match(channel_id):
        return None
    return f"{workspace}/archives/{channel_id}"


def workspace_from(events: list[TimelineEvent]) -> str | None:
    """The workspace URL as it appears in a permalink Slack gave us (pinned messages carry one)."""
    for event in events:
        permalink = event.data.get("permalink") if event.data else None
        if isinstance(permalink, str):
            match = _WORKSPACE.match(permalink)
            if match:
                return match.group(1).lower()
    return None


def message_keys(event: TimelineEvent, incident_id: int) -> list[tuple[str, str]]:
    """(outbox key, label) of the Slack messages an event's feature posted, as far as the data tells."""
    data = event.data or {}
    keys: list[tuple[str, str]] = []
    if event.kind == "declared":
        keys.append((f"incident:{incident_id}:card", "summary card"))
    rollback_id = _int(data.get("rollback_id"))
    if rollback_id is not None:
        keys.append((f"rollback:{rollback_id}", f"change #{rollback_id}"))
    run_id = _int(data.get("run_id"))
    if run_id is not None and event.kind == "runbook_step":
        keys.append((f"runbook-run:{run_id}", f"runbook run #{run_id}"))
    deploy_id = _int(data.get("deploy_id"))
    if deploy_id is not None and event.kind in ("deploy", "traffic_change"):
        keys.append((f"deploy:{deploy_id}:incident:{incident_id}", f"deploy #{deploy_id}"))
    group_id = _int(data.get("group_id"))
    if group_id is not None and event.kind.startswith("alert_"):
        keys.append((f"alert-group:{group_id}:inc:{incident_id}", "alert group"))
    key = data.get("message_key")
    if isinstance(key, str) and key:
        keys.append((key, "message"))
    return keys


def event_links(
    event: TimelineEvent, incident_id: int, refs: References, workspace: str | None
) -> list[Link]:
    """Every link of one event, deduplicated, in a stable order."""
    data: Mapping[str, Any] = event.data or {}
    found: list[Link] = []
    for key, label in URL_KEYS:
        url = safe_url(data.get(key))
        if url:
            found.append(Link(label or URL_LABELS.get(event.kind, "link"), url))
    posted = message_url(workspace, refs.event_messages.get(event.id))
    if posted:
        found.append(Link("message", posted))
    for key, label in message_keys(event, incident_id):
        url = message_url(workspace, refs.messages.get(key))
        if url:
            found.append(Link(label, url))
    extra = data.get("links")
    if isinstance(extra, Mapping):
        # Sorted: JSONB does not keep key order, and the same data must give the same bytes.
        for name in sorted(str(k) for k in extra):
            url = safe_url(extra.get(name))
            if url:
                found.append(Link(name, url))
    unique: list[Link] = []
    seen: set[str] = set()
    for item in found:
        if item.url not in seen:
            seen.add(item.url)
            unique.append(item)
    return unique[:MAX_LINKS]


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None
