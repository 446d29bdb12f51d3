"""Block Kit for runbooks: the list, one runbook, a run's header, step results and prompts. Pure."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.cloudrun.render import context, header, pack_lines, section
from bot.slack.escape import escape, safe, user_mention
from runbooks.definition import Runbook, StepSpec

RUN_ACTION = "runbook_run"
CONTINUE_ACTION = "runbook_continue"
SKIP_ACTION = "runbook_skip"
STOP_ACTION = "runbook_stop"

ICONS = {
    "ok": ":white_check_mark:",
    "healthy": ":large_green_circle:",
    "degraded": ":large_yellow_circle:",
    "unhealthy": ":red_circle:",
    "unknown": ":grey_question:",
    "skipped": ":fast_forward:",
    "failed": ":x:",
    "succeeded": ":white_check_mark:",
    "proposed": ":ballot_box_with_check:",
    "unverified": ":warning:",
    "refused": ":no_entry:",
    "cancelled": ":no_entry_sign:",
    "interrupted": ":warning:",
    "timed_out": ":hourglass:",
}
RUN_STATUS = {
    "running": ":arrow_forward: running",
    "waiting": ":raised_hand: waiting for a confirmation",
    "succeeded": ":white_check_mark: finished",
    "failed": ":x: failed",
    "stopped": ":octagonal_sign: stopped",
    "interrupted": ":warning: interrupted by a restart",
}


@dataclass(frozen=True)
class RunView:
    """What the renderers need from a run."""

    id: int
    runbook: Runbook
    service: str
    env: str
    status: str
    position: int
    requested_by: str
    detail: str | None = None


@dataclass(frozen=True)
class StepLine:
    """A recorded step result."""

    position: int
    status: str
    summary: str


def header_key(run_id: int) -> str:
    """The outbox key of a run's header message (step results are threaded under it)."""
    return f"runbook-run:{run_id}"


def prompt_key(run_id: int, position: int) -> str:
    """The outbox key of the confirmation prompt for one step."""
    return f"runbook-run:{run_id}:prompt:{position}"


def run_value(runbook: str, service: str, env: str) -> str:
    """The value of a "Run runbook" button (the same shape alert messages use)."""
    return json.dumps({"runbook": runbook, "service": service, "env": env}, separators=(",", ":"))


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


def render_list(runbooks: Sequence[Runbook], problems: int) -> tuple[str, list[dict[str, Any]]]:
    """`/runbook list`."""
    lines = [
        f"• *{escape(r.name)}* — {safe(r.description or 'no description', 300)} ({len(r.steps)} steps)"
        + (f" · for {escape(', '.join(r.services))}" if r.services else "")
        for r in runbooks
    ]
    blocks = [header("Runbooks")]
    packed, _ = pack_lines(lines or ["_no runbooks are defined_"], 10000, 45)
    blocks.extend(packed)
    notes = ["`/runbook show NAME` · `/runbook run NAME <service> [--env E]`"]
    if problems:
        notes.append(f":warning: {problems} problem(s) in runbook files; run `flare check-config`")
    blocks.append(context(" · ".join(notes)))
    return f"{len(runbooks)} runbooks", blocks


def step_text(position: int, spec: StepSpec) -> str:
    """'2. *Check health* (`deep_health`) · when `x is y` · asks first' plus parameters."""
    parts = [f"{position + 1}. *{escape(spec.label)}* (`{escape(spec.use)}`, id `{escape(spec.id)}`)"]
    if spec.when:
        parts.append(f"only when `{escape(spec.when)}`")
    if spec.confirm:
        parts.append("asks for confirmation first")
    line = " · ".join(parts)
    if spec.params:
        shown = ", ".join(f"{k}={v}" for k, v in spec.params.items())
        line += f"\n      {safe(shown, 400)}"
    return line


def render_show(runbook: Runbook) -> tuple[str, list[dict[str, Any]]]:
    """`/runbook show NAME`: every step with its parameters and condition."""
    blocks = [header(f"Runbook {runbook.name}")]
    if runbook.description:
        blocks.append(section(safe(runbook.description, 2000)))
    packed, _ = pack_lines([step_text(i, s) for i, s in enumerate(runbook.steps)], 10000, 44)
    blocks.extend(packed)
    applies = f"for {escape(', '.join(runbook.services))}" if runbook.services else "for any service"
    blocks.append(context(f"{applies} · `/runbook run {escape(runbook.name)} <service> [--env E]`"))
    return f"Runbook {escape(runbook.name)}: {len(runbook.steps)} steps", blocks


def render_header(view: RunView, done: Sequence[StepLine]) -> tuple[str, list[dict[str, Any]]]:
    """The run's header message: status and one line per step (results are in the thread)."""
    by_position = {d.position: d for d in done}
    lines = []
    for i, spec in enumerate(view.runbook.steps):
        line = by_position.get(i)
        if line is not None:
            mark = ICONS.get(line.status, ":white_circle:")
            lines.append(f"{mark} {i + 1}. {escape(spec.label)} — {escape(line.status)}")
        elif i == view.position and view.status in ("running", "waiting"):
            lines.append(f":arrow_right: {i + 1}. {escape(spec.label)}")
        else:
            lines.append(f":white_small_square: {i + 1}. {escape(spec.label)}")
    status = RUN_STATUS.get(view.status, escape(view.status))
    blocks = [
        header(f"Runbook {view.runbook.name} · {view.service} ({view.env})"),
        section(f"*{status}*" + (f" — {safe(view.detail, 500)}" if view.detail else "")),
    ]
    packed, _ = pack_lines(lines, 6000, 40)
    blocks.extend(packed)
    blocks.append(
        context(f"Started by {user_mention(view.requested_by)} · run #{view.id} · results in the thread")
    )
    text = (
        f"Runbook {escape(view.runbook.name)} on {escape(view.service)} ({escape(view.env)}): {view.status}"
    )
    return text, blocks


def render_step(
    position: int, total: int, spec: StepSpec, status: str, summary: str, lines: Sequence[str]
) -> tuple[str, list[dict[str, Any]]]:
    """One step's result, posted in the run's thread."""
    icon = ICONS.get(status, ":white_circle:")
    head = f"{icon} *{position + 1}/{total} {escape(spec.label)}* — {escape(status)}\n{safe(summary, 1500)}"
    blocks = [section(head)]
    if lines:
        packed, _ = pack_lines([f"• {safe(line, 500)}" for line in lines], 6000, 10)
        blocks.extend(packed)
    return f"{position + 1}/{total} {escape(spec.label)}: {escape(status)}", blocks


def render_prompt(
    view: RunView, position: int, spec: StepSpec, decided: str | None = None
) -> tuple[str, list[dict[str, Any]]]:
    """'Next: step N. Run it?' with Run / Skip / Stop; without buttons once someone decided."""
    total = len(view.runbook.steps)
    text = (
        f":raised_hand: Runbook *{escape(view.runbook.name)}* on {escape(view.service)} ({escape(view.env)}) "
        f"is waiting: next is step {position + 1}/{total}, *{escape(spec.label)}* (`{escape(spec.use)}`)."
    )
    blocks: list[dict[str, Any]] = [section(text)]
    if decided:
        blocks.append(context(escape(decided)))
    else:
        value = f"{view.id}:{position}"
        blocks.append(
            {
                "type": "actions",
                "block_id": f"runbook-{view.id}-{position}",
                "elements": [
                    _button("Run step", CONTINUE_ACTION, value, "primary"),
                    _button("Skip", SKIP_ACTION, value),
                    _button("Stop run", STOP_ACTION, value, "danger"),
                ],
            }
        )
    return f"Runbook {escape(view.runbook.name)} waits for step {position + 1}", blocks


def render_interrupted(view: RunView) -> tuple[str, list[dict[str, Any]]]:
    """Posted in the run's channel when a restart interrupted it."""
    total = len(view.runbook.steps)
    spec = view.runbook.steps[min(view.position, total - 1)]
    text = (
        f":warning: Runbook *{escape(view.runbook.name)}* on {escape(view.service)} ({escape(view.env)}) "
        f"(run #{view.id}) was interrupted by a restart during step {view.position + 1}/{total}, "
        f"*{escape(spec.label)}*. Later steps did not run; a change it proposed keeps its own message."
    )
    button = _button("Run again", RUN_ACTION, run_value(view.runbook.name, view.service, view.env))
    return f"Runbook {escape(view.runbook.name)} was interrupted", [
        section(text),
        {"type": "actions", "block_id": f"runbook-again-{view.id}", "elements": [button]},
    ]
