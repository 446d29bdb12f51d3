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

STEP_TEXT = {
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
    if view.status == "unverified":
        buttons = []
        if view.kind == "rollback":
            buttons.append(_button("Roll back further", FURTHER_ACTION, value, "danger"))
        buttons.append(_button("Restore previous", RESTORE_ACTION, value))
        return buttons
    return []


def _status_line(view: RollbackView) -> str:
    who = user_mention(view.decided_by) if view.decided_by else "someone"
    detail = safe(view.detail or "", 1500)
    if view.status == "proposed":
        return "Only people allowed to change this environment can confirm."
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
        return (
            f":warning: *Interrupted:* Flare restarted while {step}. "
            f"The traffic may or may not have changed: check `/deploy status {escape(view.service)}`."
        )
    if view.status == "refused":
        return f":no_entry: *Refused:* {detail}"
    return ""


def _fallback(view: RollbackView) -> str:
    target = ""
    if view.plan is not None:
        target = f" → {plain_split(view.plan.after)}"
    return f"{_title(view)}{target}: {view.status}"


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
        "failed": "failed; traffic unchanged",
        "interrupted": "interrupted by a restart",
    }.get(view.status, view.status)
    detail = f" — {safe(view.detail, 600)}" if view.detail and view.status != "succeeded" else ""
    return f"{icon} {label} {verb} by {who}: {before} → {after}: {outcome}{detail} (change #{view.id})"
