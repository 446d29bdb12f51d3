"""Block Kit for `/deploy history` and `/deploy stats`: pure functions of data."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.cloudrun.render import context, header, pack_lines, section
from bot.cloudrun.text import code, split_text
from bot.deploys.render import STATUS_MARK, TRAFFIC_MARK, commit_text
from bot.deploys.stats import DeliveryStats
from bot.deploys.views import DeployView, RollbackEntry
from bot.incidents.text import duration, utc
from bot.slack.escape import escape, link, safe, user_mention

Blocks = list[dict[str, Any]]
MAX_BLOCKS = 50
TEXT_BUDGET = 11000
ROLLBACK_MARK = {"succeeded": ":rewind:", "running": ":arrows_counterclockwise:"}


def _deploy_line(v: DeployView) -> str:
    when = utc(v.started_at)
    env = f"*{escape(v.env)}*"
    if v.kind == "traffic":
        moved = f"{split_text(v.before or {})} → {split_text(v.after or {})}"
        return f"{TRAFFIC_MARK} {when} · {env} · traffic changed outside Flare: {moved}"
    status = "*FAILED*" if v.status == "failed" else v.status
    parts = [f"{STATUS_MARK.get(v.status, ':package:')} {when} · {env} · deploy {status}"]
    parts.append(code(v.revision) if v.revision else "_revision not known_")
    commit = commit_text(v)
    if commit:
        parts.append(commit)
    if v.author:
        parts.append(f"by {safe(v.author, 80)}")
    if v.seconds is not None:
        parts.append(duration(v.seconds))
    if v.pipeline_url:
        parts.append(link(v.pipeline_url, "pipeline"))
    elif v.source == "watcher":
        parts.append("_found by the watcher_")
    return " · ".join(parts)


def _rollback_line(r: RollbackEntry) -> str:
    word = {"traffic": "traffic change", "restore": "restore"}.get(r.kind, "rollback")
    mark = ROLLBACK_MARK.get(r.status, ":warning:")
    moved = f"{split_text(r.before)} → {split_text(r.after)}" if r.after else "_no plan_"
    return (
        f"{mark} {utc(r.at)} · *{escape(r.env)}* · Flare {word} #{r.id} by {user_mention(r.by)} · "
        f"{moved} · {escape(r.status)}"
    )


def history_line(entry: DeployView | RollbackEntry) -> str:
    """One entry of /deploy history."""
    return _deploy_line(entry) if isinstance(entry, DeployView) else _rollback_line(entry)


def render_history(
    service: str, env: str | None, entries: Sequence[DeployView | RollbackEntry], total: int
) -> tuple[str, Blocks]:
    """/deploy history: newest first, within Slack's limits."""
    where = escape(env) if env else "every environment"
    title = f"Deploy history of {service} ({env})" if env else f"Deploy history of {service}"
    if not entries:
        text = f"No deploys or rollbacks of *{escape(service)}* in {where} are recorded yet."
        hint = (
            "Pipelines report deploys to POST /webhooks/deploy; `watch: true` in the catalog finds the rest."
        )
        return text, [section(text), context(hint)]
    lines = [history_line(e) for e in entries]
    blocks, fitted = pack_lines(lines, TEXT_BUDGET, MAX_BLOCKS - 2)
    shown = f"Newest first · {fitted} of {total}"
    if fitted < total:
        shown += " · `--limit N` shows more (up to 50)"
    return f"{safe(title, 200)}: {fitted} entries", [header(title), *blocks, context(shown)]


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


def stats_line(row: DeliveryStats) -> str:
    """One service/environment of /deploy stats."""
    parts = [f"*{escape(row.service)}* ({escape(row.env)}): {row.deploys} deploys ({row.per_day:.2f}/day)"]
    if row.deploys:
        parts.append(
            f"change failure rate {_percent(row.change_failure_rate)} ({row.failed_changes}/{row.deploys})"
        )
        parts.append(f"rollback rate {_percent(row.rollback_rate)} ({row.rollbacks}/{row.deploys})")
    elif row.rollbacks:
        parts.append(f"{row.rollbacks} rollbacks")
    if row.incidents:
        mttr = duration(row.restore_seconds) if row.restore_seconds is not None else "—"
        parts.append(f"mean time to restore {mttr} ({row.restored} of {row.incidents} incidents resolved)")
    return " · ".join(parts)


def render_stats(rows: Sequence[DeliveryStats], days: int, service: str | None) -> tuple[str, Blocks]:
    """/deploy stats: one line per service and environment, then the definitions used."""
    scope = f"{service}, " if service else ""
    title = f"Delivery metrics ({scope}last {days} days)"
    active = [r for r in rows if r.deploys or r.rollbacks or r.incidents]
    quiet = [r for r in rows if r not in active]
    lines = [stats_line(r) for r in active]
    if quiet:
        names = ", ".join(f"{escape(r.service)} ({escape(r.env)})" for r in quiet)
        lines.append(f"_No deploys, rollbacks or incidents:_ {names}")
    blocks, fitted = pack_lines(lines, TEXT_BUDGET, MAX_BLOCKS - 3)
    if fitted < len(lines):
        blocks.append(context(f"…{len(lines) - fitted} more not shown: `/deploy stats <service>` shows one"))
    definitions = (
        "Deploy frequency: successful deploys per day. Change failure rate: deploys followed within 24 h "
        "by a Flare rollback or an incident on the service (each charged to the latest deploy before it). "
        "Rollback rate: Flare rollbacks per deploy. Mean time to restore: incident declared → resolved."
    )
    return safe(title, 200), [header(title), *blocks, context(definitions)]
