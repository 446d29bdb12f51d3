"""The rollback message through its life (proposal, running, result) and notices: pure functions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.cloudrun.render import context, header, section
from bot.cloudrun.text import ago, code, plain_split, split_text
from bot.rollback.plan import Guard, Plan
from bot.slack.escape import escape, safe, user_mention

CONFIRM_ACTION = "rollback_confirm"
CANCEL_ACTION = "rollback_cancel"
FURTHER_ACTION = "rollback_further"
RESTORE_ACTION = "rollback_restore"
PLAN_AGAIN_ACTION = "rollback_plan_again"

STEP_TEXT = {
    "checking": "re-reading the service from Cloud Run and re-checking the guards",
    "patching": "moving traffic and waiting for Cloud Run's operation",
    "settling": "letting the new traffic settle",
    "verifying": "verifying deep health and traffic",
    "planning": "reading the service from Cloud Run",
}


@dataclass(frozen=True)
class RollbackView:
    """What the renderers need from a rollback row."""

    id: int
    kind: str
    service: str
    env: str
    status: str
    requested_by: str
    plan: Plan | None
    step: str | None = None
    decided_by: str | None = None
    detail: str | None = None
    created_at: datetime | None = None
    finished_at: datetime | None = None
    observed: dict[str, int] | None = None
    expires_at: datetime | None = None

    @property
    def applied(self) -> bool:
        """Flare saw the planned traffic serving after the change."""
        return self.plan is not None and self.observed is not None and self.observed == self.plan.after

    @property
    def unchanged(self) -> bool:
        """Flare saw the traffic from before the change still serving."""
        return self.plan is not None and self.observed is not None and self.observed == self.plan.before


def message_key(rollback_id: int) -> str:
    """The outbox key of a rollback's message."""
    return f"rollback:{rollback_id}"


def _title(view: RollbackView) -> str:
    label = f"{view.service} ({view.env})"
    if view.kind == "traffic":
        return f"Change traffic of {label}"
    if view.kind == "restore":
        return f"Restore the previous traffic of {label}"
    return f"Roll back {label}"


def _revision_text(plan: Plan, name: str, now: datetime) -> str:
    facts = plan.revisions.get(name)
    if facts is None:
        return code(name)
    deployer = f", by {safe(facts.deployer, 60)}" if facts.deployer else ""
    ready = "" if facts.ready else " · :x: not Ready"
    return f"{code(name)} — {code(facts.image[:160])}, {ago(facts.created_at, now)} old{deployer}{ready}"


def plan_text(plan: Plan, now: datetime) -> str:
    """From → to with images and ages, and the traffic before and after."""
    lines = []
    if plan.target is not None and len(plan.before) >= 1:
        sources = sorted(plan.before, key=lambda n: -plan.before[n])
        for i, name in enumerate(sources):
            lines.append(f"{'*From:*' if i == 0 else '       '} {_revision_text(plan, name, now)}")
        lines.append(f"*To:* {_revision_text(plan, plan.target, now)}")
    else:
        for name in plan.after:
            lines.append(f"*Revision:* {_revision_text(plan, name, now)}")
    lines.append(f"*Traffic now:* {split_text(plan.before)}")
    lines.append(f"*Traffic after:* {split_text(plan.after)}")
    return "\n".join(lines)


def guard_lines(guards: list[Guard]) -> str:
    """One bullet per failed guard."""
    return "\n".join(f"• {safe(g.message, 400)}" for g in guards)


def plan_again_button(rollback_id: int) -> dict[str, Any]:
    """'Plan again': a fresh plan of the same request from what serves now."""
    return _button("Plan again", PLAN_AGAIN_ACTION, str(rollback_id), "primary")


def _button(text: str, action_id: str, value: str, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": text},
        "action_id": action_id,
        "value": value,
    }
    if style:
        button["style"] = style
    return button


def _confirm_dialog(view: RollbackView) -> dict[str, Any]:
    assert view.plan is not None
    after = plain_split(view.plan.after)
    return {
        "title": {"type": "plain_text", "text": f"Change {view.env} traffic?"[:100]},
        "text": {"type": "mrkdwn", "text": safe(f"{view.service} ({view.env}) will serve {after}.", 300)},
        "confirm": {"type": "plain_text", "text": "Yes, do it"},
        "deny": {"type": "plain_text", "text": "Keep current"},
        "style": "danger",
    }


def render_rollback(view: RollbackView, now: datetime) -> tuple[str, list[dict[str, Any]]]:
    """The rollback's single message, whatever its status."""
    blocks: list[dict[str, Any]] = [header(_title(view) + ("?" if view.status == "proposed" else ""))]
    if view.plan is not None:
        blocks.append(section(plan_text(view.plan, now)))
        if view.plan.warnings and view.status in ("proposed", "dry-run", "running"):
            blocks.append(section("\n".join(f":warning: {safe(w, 600)}" for w in view.plan.warnings)))
        if view.plan.overridden_guards:
            blocks.append(
                section(
                    ":warning: *Guards overridden with --force:*\n" + guard_lines(view.plan.overridden_guards)
                )
            )
    status = _status_line(view)
    if status:
        blocks.append(section(status))
    blocks.append(context(f"Requested by {user_mention(view.requested_by)} · change #{view.id}"))
    actions = _actions(view)
    if actions:
        blocks.append({"type": "actions", "block_id": f"rollback-{view.id}", "elements": actions})
    return _fallback(view), blocks


def _actions(view: RollbackView) -> list[dict[str, Any]]:
    value = str(view.id)
    if view.status == "proposed":
        confirm = _button("Confirm", CONFIRM_ACTION, value, "danger")
        confirm["confirm"] = _confirm_dialog(view)
        return [confirm, _button("Cancel", CANCEL_ACTION, value)]
    if view.status == "unverified" or (view.status == "interrupted" and view.applied):
        buttons = []
        if view.kind == "rollback":
            buttons.append(_button("Roll back further", FURTHER_ACTION, value, "danger"))
        buttons.append(_button("Restore previous", RESTORE_ACTION, value))
        return buttons
    if view.status in ("stale", "expired", "refused", "interrupted") or (
        view.status == "failed" and view.unchanged
    ):
        return [plan_again_button(view.id)]
    return []


def _status_line(view: RollbackView) -> str:
    who = user_mention(view.decided_by) if view.decided_by else "someone"
    detail = safe(view.detail or "", 1500)
    if view.status == "proposed":
        expiry = f" This proposal expires at {view.expires_at:%H:%M} UTC." if view.expires_at else ""
        return "Only people allowed to change this environment can confirm." + expiry
    if view.status == "running":
        step = STEP_TEXT.get(view.step or "", view.step or "working")
        return f":hourglass_flowing_sand: Confirmed by {who}: {escape(step)}…"
    if view.status == "succeeded":
        return f":white_check_mark: *Done and verified.* {detail}"
    if view.status == "unverified":
        return (
            f":warning: *Traffic moved, but verification failed:* {detail}\n"
            "Roll back further, restore the previous traffic, or investigate."
        )
    if view.status == "failed":
        return f":x: *Failed:* {detail}"
    if view.status == "cancelled":
        return f":no_entry_sign: Cancelled by {who}."
    if view.status == "interrupted":
        step = escape(STEP_TEXT.get(view.step or "", "working"))
        if view.observed is None:
            return (
                f":warning: *Interrupted:* Flare restarted while {step}. Checking what Cloud Run serves now… "
                f"{detail}".rstrip()
            )
        return f":warning: *Interrupted by a restart while {step}:* {detail}"
    if view.status == "stale":
        return f":arrows_counterclockwise: *Traffic changed since this plan was made:* {detail}"
    if view.status == "expired":
        return f":hourglass: *Expired:* {detail}. Nothing was changed; plan again to see what serves now."
    if view.status == "replaced":
        return f":fast_forward: *Replaced:* {detail}. Nothing was changed by this proposal."
    if view.status == "refused":
        return f":no_entry: *Refused:* {detail}"
    return ""


def _fallback(view: RollbackView) -> str:
    target = ""
    if view.plan is not None:
        target = f" → {plain_split(view.plan.after)}"
    return f"{_title(view)}{target}: {view.status}"


def _failed_outcome(view: RollbackView) -> str:
    if view.unchanged:
        return "failed; traffic unchanged (checked)"
    if view.observed:
        return f"failed; Cloud Run now serves {plain_split(view.observed)}"
    return "failed; what serves now is unknown (check `/deploy status`)"


def _interrupted_outcome(view: RollbackView) -> str:
    if view.applied:
        return "interrupted by a restart, but Cloud Run had applied it (not verified)"
    if view.unchanged:
        return "interrupted by a restart before Cloud Run applied it; traffic unchanged (checked)"
    if view.observed:
        return f"interrupted by a restart; Cloud Run now serves {plain_split(view.observed)}"
    return "interrupted by a restart"


def render_notice(view: RollbackView) -> str:
    """One line for the deployments channel and the incident channel."""
    plan = view.plan
    after = plain_split(plan.after) if plan else "?"
    before = plain_split(plan.before) if plan else "?"
    who = user_mention(view.decided_by) if view.decided_by else user_mention(view.requested_by)
    label = f"*{escape(view.service)}* ({escape(view.env)})"
    verb = {"traffic": "traffic change", "restore": "restore"}.get(view.kind, "rollback")
    icon = {
        "succeeded": ":rewind:",
        "unverified": ":warning:",
        "failed": ":x:",
        "interrupted": ":warning:",
    }.get(view.status, ":information_source:")
    outcome = {
        "succeeded": "done and verified",
        "unverified": "traffic moved but verification failed",
        "failed": _failed_outcome(view),
        "interrupted": _interrupted_outcome(view),
        "stale": "not carried out; traffic had changed since the plan",
    }.get(view.status, view.status)
    detail = f" — {safe(view.detail, 600)}" if view.detail and view.status != "succeeded" else ""
    return f"{icon} {label} {verb} by {who}: {before} → {after}: {outcome}{detail} (change #{view.id})"
