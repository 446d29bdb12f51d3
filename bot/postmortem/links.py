"""Which links a timeline event carries: stored URLs, permalinks, and the Slack messages it caused."""

from __future__ import annotations

import re
from collections.abc import Container, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, NamedTuple

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
_KEYED_KINDS = frozenset(
    {
        "declared",
        "runbook_step",
        "deploy",
        "traffic_change",
        "alert_fired",
        "alert_resolved",
        "alert_acknowledged",
    }
)
_NO_DATA: Mapping[str, Any] = MappingProxyType({})
URL_LABELS = {
    "alert_fired": "alert",
    "alert_resolved": "alert",
    "deploy": "deploy",
    "traffic_change": "change",
}


class Link(NamedTuple):
    """A labelled URL (the URL already checked by safe_url)."""

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


# The families of the keys message_keys makes (a key's family is the text before its first ':').
KEY_FAMILIES = frozenset({"incident", "rollback", "runbook-run", "deploy", "alert-group"})


def message_keys(
    event: TimelineEvent, incident_id: int, families: Container[str] = KEY_FAMILIES
) -> list[tuple[str, str]]:
    """(outbox key, label) of the Slack messages an event's feature posted, as far as the data tells.

    Only keys of `families` are made (a `message_key` from the data is always kept).
    """
    data = event.data or _NO_DATA
    kind = event.kind
    if kind not in _KEYED_KINDS and "rollback_id" not in data and "message_key" not in data:
        return []
    keys: list[tuple[str, str]] = []
    if kind == "declared" and "incident" in families:
        keys.append((f"incident:{incident_id}:card", "summary card"))
    if (
        "rollback_id" in data
        and "rollback" in families
        and (rollback_id := _int(data["rollback_id"])) is not None
    ):
        keys.append((f"rollback:{rollback_id}", f"change #{rollback_id}"))
    # The kinds below exclude each other; called for every event of a long timeline, so tested once.
    if kind == "runbook_step":
        if "runbook-run" in families and (run_id := _int(data.get("run_id"))) is not None:
            keys.append((f"runbook-run:{run_id}", f"runbook run #{run_id}"))
    elif kind == "deploy" or kind == "traffic_change":
        if "deploy" in families and (deploy_id := _int(data.get("deploy_id"))) is not None:
            keys.append((f"deploy:{deploy_id}:incident:{incident_id}", f"deploy #{deploy_id}"))
    elif (
        kind.startswith("alert_")
        and "alert-group" in families
        and (group_id := _int(data.get("group_id"))) is not None
    ):
        keys.append((f"alert-group:{group_id}:inc:{incident_id}", "alert group"))
    if "message_key" in data and isinstance(key := data["message_key"], str) and key:
        keys.append((key, "message"))
    return keys


@dataclass(frozen=True)
class SlackLinks:
    """Permalinks of delivered Slack messages, worked out once per render."""

    by_key: Mapping[str, str]
    by_event: Mapping[int, str]
    # The families of by_key's keys: an event is not asked for keys of the others.
    families: frozenset[str] = frozenset()

    @classmethod
    def of(cls, refs: References, workspace: str | None) -> SlackLinks:
        """The permalinks of every message in `refs` (none without a workspace URL)."""
        if workspace is None:
            return cls({}, {})
        by_key = {k: url for k, m in refs.messages.items() if (url := message_url(workspace, m))}
        by_event = {i: url for i, m in refs.event_messages.items() if (url := message_url(workspace, m))}
        return cls(by_key, by_event, frozenset(key.partition(":")[0] for key in by_key))


def event_links(
    event: TimelineEvent, incident_id: int, slack: SlackLinks, checked: dict[object, str | None] | None = None
) -> list[Link]:
    """Every link of one event, deduplicated, in a stable order (`checked` caches safe_url answers)."""
    return [Link(label, url) for label, url in link_pairs(event, incident_id, slack, checked)]


def link_pairs(
    event: TimelineEvent, incident_id: int, slack: SlackLinks, checked: dict[object, str | None] | None = None
) -> list[tuple[str, str]]:
    """`event_links` as plain (label, url) tuples: quicker to make for every event of a long timeline."""
    data: Mapping[str, Any] = event.data or _NO_DATA
    found: list[tuple[str, str]] = []
    cache: dict[object, str | None] = {} if checked is None else checked
    if data:
        for key, label in URL_KEYS:
            if key in data and isinstance(value := data[key], str):
                if value in cache:
                    url = cache[value]
                else:
                    url = cache[value] = safe_url(value)
                if url:
                    found.append((label or URL_LABELS.get(event.kind, "link"), url))
    if slack.by_event:
        posted = slack.by_event.get(event.id)
        if posted:
            found.append(("message", posted))
    if slack.by_key:
        for key, label in message_keys(event, incident_id, slack.families):
            url = slack.by_key.get(key)
            if url:
                found.append((label, url))
    extra = data.get("links") if data else None
    if isinstance(extra, dict) and extra:
        # Sorted: JSONB does not keep key order, and the same data must give the same bytes.
        for name in sorted(str(k) for k in extra):
            url = _checked(cache, extra.get(name))
            if url:
                found.append((name, url))
    if len(found) < 2:
        return found
    if len(found) == 2:
        return found if found[0][1] != found[1][1] else found[:1]
    unique: dict[str, tuple[str, str]] = {}
    for label, url in found:
        unique.setdefault(url, (label, url))
    return list(unique.values())[:MAX_LINKS]


def _checked(cache: dict[object, str | None], value: object) -> str | None:
    if not isinstance(value, str):
        return None
    if value not in cache:
        cache[value] = safe_url(value)
    return cache[value]


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None
