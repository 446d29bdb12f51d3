"""Pure builders of PagerDuty Events API v2 bodies (the routing key is added when sending)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

SUMMARY_LIMIT = 1024  # PagerDuty truncates payload.summary at 1024 characters
DETAIL_LIMIT = 4000
SEVERITY = {"P0": "critical", "P1": "error", "P2": "warning", "P3": "info"}
CLIENT = "Flare"


def dedup_key(incident_id: int, team: str | None = None) -> str:
    """flare-INC-<n> for the owning team's page; flare-INC-<n>-<team> for an extra team."""
    return f"flare-INC-{incident_id}" + (f"-{team}" if team else "")


def incident_number(key: str) -> int | None:
    """The incident number inside a Flare dedup key, or None if the key is not Flare's."""
    if not key.startswith("flare-INC-"):
        return None
    digits = key[len("flare-INC-") :].split("-", 1)[0]
    return int(digits) if digits.isdigit() and len(digits) < 19 else None


def summary(severity: str, human_id: str, title: str, message: str | None = None) -> str:
    """'[P0] INC-42 checkout is failing' (plus a paging message), cut to PagerDuty's limit."""
    text = f"[{severity}] {human_id} {title}"
    if message:
        text += f" — {message}"
    text = " ".join(text.split())
    return text if len(text) <= SUMMARY_LIMIT else text[: SUMMARY_LIMIT - 1] + "…"


def trigger(
    *,
    key: str,
    severity: str,
    human_id: str,
    title: str,
    service: str | None,
    commander: str | None,
    declarer: str,
    description: str,
    channel_url: str | None,
    paged_by: str,
    console_url: str | None = None,
    message: str | None,
    when: datetime,
) -> dict[str, Any]:
    """The trigger event of a page."""
    details: dict[str, Any] = {
        "incident": human_id,
        "commander": commander or "unassigned",
        "declarer": declarer,
        "description": description[:DETAIL_LIMIT],
    }
    if paged_by != declarer:
        details["paged_by"] = paged_by
    if message:
        details["message"] = message[:DETAIL_LIMIT]
    body: dict[str, Any] = {
        "event_action": "trigger",
        "dedup_key": key,
        "payload": {
            "summary": summary(severity, human_id, title, message),
            "source": service or "flare",
            "severity": SEVERITY.get(severity, "critical"),
            "timestamp": when.isoformat(),
            "component": service or "flare",
            "group": "flare",
            "class": "incident",
            "custom_details": details,
        },
        "client": CLIENT,
    }
    if channel_url:
        body["client_url"] = channel_url
        body["links"] = [{"href": channel_url, "text": f"{human_id} incident channel in Slack"}]
    if console_url:
        body.setdefault("links", []).append({"href": console_url, "text": f"{human_id} in the Flare console"})
    return body


def follow_up(action: str, key: str) -> dict[str, Any]:
    """An acknowledge or resolve event for a page."""
    if action not in ("acknowledge", "resolve"):
        raise ValueError(f"unknown event action {action!r}")
    return {"event_action": action, "dedup_key": key}
