"""The incident lifecycle: statuses, which transitions are legal, and the message for those that are not."""

from __future__ import annotations

from typing import Literal

from bot.catalog import SEVERITY_ORDER, SeverityName

Status = Literal["declared", "acknowledged", "mitigated", "resolved"]
Action = Literal["ack", "mitigate", "resolve", "reopen"]

STATUSES: tuple[Status, ...] = ("declared", "acknowledged", "mitigated", "resolved")
OPEN_STATUSES: tuple[Status, ...] = ("declared", "acknowledged", "mitigated")
TARGET: dict[Action, Status] = {
    "ack": "acknowledged",
    "mitigate": "mitigated",
    "resolve": "resolved",
    "reopen": "declared",
}
# Forward moves may skip a step (a false alarm is resolved straight from declared); reopen only
# follows resolve.
_ALLOWED_FROM: dict[Action, tuple[Status, ...]] = {
    "ack": ("declared",),
    "mitigate": ("declared", "acknowledged"),
    "resolve": ("declared", "acknowledged", "mitigated"),
    "reopen": ("resolved",),
}
# Kinds of timeline events; other features may add their own strings.
EVENT_KINDS = (
    "declared",
    "severity_changed",
    "status_changed",
    "role_assigned",
    "update",
    "note",
    "action_item",
    "pinned",
    "reminder",
    "alert_fired",
    "alert_resolved",
    "alert_acknowledged",
    "deploy",
    "traffic_change",
    "rollback",
    "rollback_refused",
    "runbook_step",
    "health_check",
    "postmortem",
)
ROLES = ("commander", "comms")


class IncidentError(Exception):
    """An expected problem (illegal transition, unknown incident) with a message for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def check_transition(human_id: str, status: str, action: Action) -> Status:
    """The status `action` leads to from `status`; IncidentError explains why it is not allowed."""
    target = TARGET[action]
    if status in _ALLOWED_FROM[action]:
        return target
    if action == "reopen":
        raise IncidentError(
            f"{human_id} is {status}, not resolved; only a resolved incident can be reopened."
        )
    if status == "resolved":
        raise IncidentError(f"{human_id} is resolved; reopen it first (`/incident reopen`).")
    if status == target:
        raise IncidentError(f"{human_id} is already {status}.")
    raise IncidentError(f"{human_id} is already {status}; it cannot go back to {target}.")


def require_open(human_id: str, status: str, what: str) -> None:
    """Refuse changes to a resolved incident, naming what was attempted."""
    if status == "resolved":
        raise IncidentError(f"{human_id} is resolved; reopen it first to {what}.")


def parse_severity(text: str) -> SeverityName | None:
    """'p1' or 'P1' -> 'P1'; None when it is not a known severity."""
    value = text.strip().upper()
    for name in SEVERITY_ORDER:
        if name == value:
            return name
    return None


def status_label(status: str) -> str:
    """A status for display: 'acknowledged' -> 'Acknowledged'."""
    return status.capitalize()
