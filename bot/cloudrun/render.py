"""Block Kit for `/deploy status` and revision lists: pure functions of Cloud Run data."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.cloudrun.models import Revision, ServiceInfo
from bot.cloudrun.text import ago, code, split_text
from bot.slack.escape import PLAIN_TEXT_LIMIT, SECTION_TEXT_LIMIT, escape, link, safe, truncate, user_mention

MAX_BLOCKS = 50
# Slack accepts ~12,000 characters per message in total; stay clear of it.
TEXT_BUDGET = 11000
DEFAULT_REVISIONS = 10


@dataclass(frozen=True)
class LastChange:
    """The most recent rollback or traffic change Flare made to a service."""

    id: int
    kind: str
    status: str
    before: dict[str, int]
    after: dict[str, int]
    by: str
    at: datetime


@dataclass(frozen=True)
class ServiceStatus:
    """Everything `/deploy status <service>` shows."""

    service: str
    env: str
    info: ServiceInfo
    revisions: list[Revision]
    last_change: LastChange | None = None


@dataclass(frozen=True)
class OverviewRow:
    """One line of `/deploy status` without a service: what serves, or why we could not tell."""

    service: str
    info: ServiceInfo | None = None
    ready: dict[str, bool] | None = None
    error: str | None = None


def header(text: str) -> dict[str, Any]:
    """A header block (plain text, at most 150 characters)."""
    return {"type": "header", "text": {"type": "plain_text", "text": truncate(text, PLAIN_TEXT_LIMIT)}}


def section(text: str) -> dict[str, Any]:
    """A mrkdwn section, truncated to Slack's limit."""
    return {"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, SECTION_TEXT_LIMIT)}}


def context(text: str) -> dict[str, Any]:
    """A small grey context line."""
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(text, SECTION_TEXT_LIMIT)}]}


def ready_mark(revision: Revision | None) -> str:
    """':white_check_mark: Ready' or ':x: not Ready (reason)'."""
    if revision is None:
        return ":grey_question: unknown"
    if revision.ready:
        return ":white_check_mark: Ready"
    reason = f" ({safe(revision.ready_message, 120)})" if revision.ready_message else ""
    return f":x: not Ready{reason}"


def revision_line(revision: Revision, percent: int, tag: str | None, now: datetime) -> str:
    """One revision: name, traffic and tag, Ready, age, deployer, image."""
    parts = [code(revision.name)]
    parts.append(f"*{percent}%*" if percent else "0%")
    if tag:
        parts.append(f"tag {code(tag)}")
    parts.append(ready_mark(revision))
    parts.append(f"{ago(revision.created, now)} old")
    if revision.deployer:
        parts.append(f"by {safe(revision.deployer, 80)}")
    parts.append(code(truncate(revision.image, 160)))
    return " · ".join(parts)


def pack_lines(lines: Sequence[str], budget: int, max_blocks: int) -> tuple[list[dict[str, Any]], int]:
    """Sections holding as many whole lines as fit; (blocks, how many lines fit)."""
    blocks: list[dict[str, Any]] = []
    current: list[str] = []
    used = 0
    fitted = 0
    for line in lines:
        line = truncate(line, SECTION_TEXT_LIMIT - 10)
        if used + len(line) + 1 > budget:
            break
        if current and sum(len(x) + 1 for x in current) + len(line) > SECTION_TEXT_LIMIT - 10:
            if len(blocks) + 1 >= max_blocks:
                break
            blocks.append(section("\n".join(current)))
            current = []
        current.append(line)
        used += len(line) + 1
        fitted += 1
    if current:
        blocks.append(section("\n".join(current)))
    return blocks, fitted


def render_status(
    status: ServiceStatus, now: datetime, *, show_all: bool = False
) -> tuple[str, list[dict[str, Any]]]:
    """`/deploy status <service>`: URL, serving vs latest ready, last change, revisions newest first."""
    info = status.info
    serving = info.serving()
    tags = info.tags()
    by_name = {r.name: r for r in status.revisions}
    blocks: list[dict[str, Any]] = [header(f"{status.service} · {status.env}")]
    where = (
        f"{escape(info.ref.project)}/{escape(info.ref.region)} · Cloud Run service {code(info.ref.service)}"
    )
    url = link(info.uri, info.uri) if info.uri else "_no URL yet_"
    blocks.append(section(f"{url}\n{where}"))
    lines = [f"*Serving:* {split_text(serving, tags)}"]
    latest = info.latest_ready_revision
    if latest and serving.get(latest) == 100:
        lines.append(f"*Latest ready:* {code(latest)} (serving all traffic)")
    elif latest:
        share = serving.get(latest, 0)
        lines.append(f"*Latest ready:* {code(latest)} — :warning: serves {share}%, not all traffic")
    else:
        lines.append("*Latest ready:* _none_")
    if not info.ready:
        lines.append(f":x: *Service not Ready:* {safe(info.ready_message or 'no reason given', 300)}")
    change = status.last_change
    if change is not None:
        lines.append(
            f"*Last {_kind_word(change.kind)}:* {ago(change.at, now)} ago by {user_mention(change.by)}: "
            f"{split_text(change.before)} → {split_text(change.after)} "
            f"({escape(change.status)}, #{change.id})"
        )
    blocks.append(section("\n".join(lines)))
    limit = len(status.revisions) if show_all else DEFAULT_REVISIONS
    shown = status.revisions[:limit]
    rows = [revision_line(r, serving.get(r.name, 0), tags.get(r.name), now) for r in shown]
    budget = TEXT_BUDGET - sum(len(str(b)) for b in blocks)
    revision_blocks, fitted = pack_lines(rows, budget, MAX_BLOCKS - len(blocks) - 2)
    blocks.append(section(f"*Revisions* (newest first, {len(status.revisions)} in all)"))
    blocks.extend(revision_blocks)
    missing = [name for name in serving if name not in by_name]
    notes = []
    if fitted < len(status.revisions):
        more = len(status.revisions) - fitted
        hint = "" if show_all else f" · `/deploy status {status.service} --all` shows more"
        if show_all:
            hint = " (Slack's message size limit)"
        notes.append(f"{more} older revision{'s' if more != 1 else ''} not shown{hint}")
    if missing:
        notes.append(f"serving revisions not in the list: {', '.join(code(m) for m in missing)}")
    if notes:
        blocks.append(context(" · ".join(notes)))
    text = f"{escape(status.service)} ({escape(status.env)}): serving {_plain(serving)}"
    return text, blocks


def render_overview(env: str, rows: Sequence[OverviewRow]) -> tuple[str, list[dict[str, Any]]]:
    """`/deploy status` with no service: one line per catalog service."""
    lines = []
    for row in rows:
        name = f"*{escape(row.service)}*"
        if row.error is not None or row.info is None:
            lines.append(f":warning: {name} · {safe(row.error or 'unknown error', 300)}")
            continue
        serving = row.info.serving()
        ready = row.ready or {}
        all_ready = bool(serving) and all(ready.get(n, False) for n in serving)
        mark = ":white_check_mark: Ready" if all_ready else ":x: not all Ready"
        lines.append(f"{name} · {split_text(serving, row.info.tags())} · {mark}")
    blocks = [header(f"Cloud Run services · {env}")]
    packed, fitted = pack_lines(lines or ["_no services run in this environment_"], TEXT_BUDGET, 45)
    blocks.extend(packed)
    if fitted < len(lines):
        blocks.append(context(f"{len(lines) - fitted} more services not shown"))
    blocks.append(context("`/deploy status <service>` for revisions, images and deployers"))
    return f"Cloud Run services in {escape(env)}: {len(rows)}", blocks


def render_revision_list(
    service: str,
    env: str,
    info: ServiceInfo,
    revisions: Sequence[Revision],
    now: datetime,
    default_target: str | None,
) -> tuple[str, list[dict[str, Any]]]:
    """`/rollback <service> --list`: every revision, marking what serves and the default target."""
    serving = info.serving()
    tags = info.tags()
    rows = []
    for revision in revisions:
        line = revision_line(revision, serving.get(revision.name, 0), tags.get(revision.name), now)
        if revision.name == default_target:
            line = ":arrow_left: " + line + " · *default rollback target*"
        rows.append(line)
    blocks = [header(f"Revisions of {service} · {env}")]
    packed, fitted = pack_lines(rows, TEXT_BUDGET, MAX_BLOCKS - 3)
    blocks.extend(packed)
    if fitted < len(rows):
        blocks.append(context(f"{len(rows) - fitted} older revisions not shown"))
    example = f"/rollback {service} --to <revision>" + ("" if env == "production" else f" --env {env}")
    blocks.append(context(f"Roll back with `{escape(example)}` or `--steps N`"))
    return f"{len(revisions)} revisions of {escape(service)} ({escape(env)})", blocks


def _kind_word(kind: str) -> str:
    return {"rollback": "rollback", "restore": "restore", "traffic": "traffic change"}.get(kind, kind)


def _plain(split: dict[str, int]) -> str:
    if not split:
        return "nothing"
    return ", ".join(f"{escape(n)} {p}%" for n, p in sorted(split.items(), key=lambda kv: -kv[1]))
