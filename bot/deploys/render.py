"""Block Kit for deploy messages, suspect posts and the incident card's suspect list: pure functions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.cloudrun.render import context, section
from bot.cloudrun.text import code, split_text
from bot.deploys.views import DeployView
from bot.incidents.text import duration, slack_date, utc
from bot.slack.escape import escape, link, safe, truncate

Blocks = list[dict[str, Any]]
ROLLBACK_ACTION = "deploy_rollback"
FIELD_LIMIT = 1900
MESSAGE_LIMIT = 1500
STATUS_MARK = {
    "started": ":hourglass_flowing_sand:",
    "succeeded": ":white_check_mark:",
    "failed": ":x:",
}
TRAFFIC_MARK = ":twisted_rightwards_arrows:"


def message_key(deploy_id: int, channel: str) -> str:
    """The outbox key of a deploy's message in `channel`."""
    return f"deploy:{deploy_id}:{channel}"


def suspect_key(deploy_id: int, incident_id: int) -> str:
    """The outbox key of a deploy's suspect post in an incident channel."""
    return f"deploy:{deploy_id}:incident:{incident_id}"


def short_sha(sha: str) -> str:
    """The first 7 characters of a commit SHA."""
    return sha[:7]


def commit_text(v: DeployView) -> str | None:
    """'`abc1234`' linked to the commit when its URL is known."""
    if not v.commit_sha and not v.commit_url:
        return None
    label = short_sha(v.commit_sha) if v.commit_sha else "commit"
    return link(v.commit_url, label) if v.commit_url else code(label)


def _status_phrase(v: DeployView) -> str:
    took = f" in {duration(v.seconds)}" if v.seconds is not None else ""
    if v.status == "failed":
        after = f" after {duration(v.seconds)}" if v.seconds is not None else ""
        return f"*FAILED*{after}"
    if v.status == "succeeded":
        return f"succeeded{took}"
    return "started"


def headline(v: DeployView) -> str:
    """Notification text: 'Deploy of checkout (production) succeeded: checkout-00042-abc' (escaped)."""
    if v.kind == "traffic":
        return f"Traffic of {safe(v.label, 140)} changed outside Flare: {_plain(v.after or {})}"
    what = f": {safe(v.revision, 100)}" if v.revision else ""
    status = "FAILED" if v.status == "failed" else v.status
    return f"Deploy of {safe(v.label, 140)} {status}{what}"


def _plain(split: dict[str, int]) -> str:
    parts = sorted(split.items(), key=lambda kv: (-kv[1], kv[0]))
    return ", ".join(f"{escape(n)} {p}%" for n, p in parts) or "no traffic"


def _fields(v: DeployView) -> list[str]:
    if v.kind == "traffic":
        return [
            f"*Before*\n{split_text(v.before or {})}",
            f"*After*\n{split_text(v.after or {})}",
            f"*Detected*\n{slack_date(v.started_at)}",
            f"*Found by*\n{_source(v)}",
        ]
    fields = [f"*Revision*\n{code(v.revision) if v.revision else '_not known yet_'}"]
    fields.append(f"*Image*\n{code(truncate(v.image, 300)) if v.image else '_not given_'}")
    fields.append(f"*Commit*\n{commit_text(v) or '_not given_'}")
    fields.append(f"*Author*\n{safe(v.author, 200) if v.author else '_not given_'}")
    took = duration(v.seconds) if v.seconds is not None else ("_running_" if v.status == "started" else "—")
    fields.append(f"*Duration*\n{took}")
    fields.append(f"*Started*\n{slack_date(v.started_at)}")
    return fields


def _source(v: DeployView) -> str:
    if v.source == "watcher":
        return "the Cloud Run watcher"
    return link(v.pipeline_url, "pipeline") if v.pipeline_url else "the deploy webhook"


def _title(v: DeployView) -> str:
    if v.kind == "traffic":
        return f"{TRAFFIC_MARK} *Traffic of {safe(v.label, 140)} changed outside Flare*"
    mark = ":red_circle:" if v.status == "failed" else STATUS_MARK.get(v.status, ":package:")
    return f"{mark} *Deploy of {safe(v.label, 140)}* {_status_phrase(v)}"


def _body(v: DeployView) -> Blocks:
    blocks: Blocks = [
        section(_title(v)),
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f[:FIELD_LIMIT]} for f in _fields(v)]},
    ]
    if v.message:
        blocks.append(section(f"> {safe(' '.join(v.message.split()), MESSAGE_LIMIT)}"))
    return blocks


def deploy_message(v: DeployView) -> tuple[str, Blocks]:
    """The one message per deploy (deployments and team channels), updated in place."""
    blocks = _body(v)
    where = f"Announced by {_source(v)}"
    if v.kind == "deploy" and v.source == "watcher":
        where = "Found by the Cloud Run watcher (a new Ready revision not announced by a pipeline)"
    if v.status == "failed":
        where = ":rotating_light: This deploy failed. " + where
    blocks.append(context(f"{where} · deploy #{v.id}"))
    return headline(v), blocks


def suspect_message(v: DeployView, incident: str) -> tuple[str, Blocks]:
    """Posted in an open incident's channel: the change, and a button into the rollback flow."""
    what = "traffic change" if v.kind == "traffic" else "deploy"
    intro = (
        f":mag: *Suspect change for {safe(incident, 40)}:* a {what} of {safe(v.label, 140)} while it is open"
    )
    blocks: Blocks = [section(intro), *_body(v)]
    blocks.append(
        {
            "type": "actions",
            "block_id": f"deploy-suspect-{v.id}",
            "elements": [
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": "Roll back to previous"},
                    "action_id": ROLLBACK_ACTION,
                    "value": str(v.id),
                    "style": "danger",
                }
            ],
        }
    )
    blocks.append(
        context(
            "The button proposes the rollback here; it runs only after an allowed person confirms it "
            f"· deploy #{v.id}"
        )
    )
    return f"Suspect change for {safe(incident, 40)}: {headline(v)}", blocks


def card_line(v: DeployView, declared_at: datetime) -> str:
    """One suspect on the incident card."""
    before = max(int((declared_at - v.started_at).total_seconds()), 0)
    when = f"{utc(v.started_at)[11:]} ({duration(before)} before)"
    if v.kind == "traffic":
        after = split_text(v.after or {})
        return f"• {TRAFFIC_MARK} {escape(v.env)}: traffic changed outside Flare to {after} · {when}"
    parts = [f"• {STATUS_MARK.get(v.status, '')} {escape(v.env)}: {code(v.revision or 'revision not known')}"]
    if v.author:
        parts.append(f"by {safe(v.author, 80)}")
    commit = commit_text(v)
    if commit:
        parts.append(commit)
    parts.append(v.status)
    parts.append(when)
    return " · ".join(parts)


def card_suspects(views: Sequence[DeployView], declared_at: datetime, window_minutes: int) -> str | None:
    """The card's 'suspect changes' text, newest first; None when there were none."""
    if not views:
        return None
    hours = f"{window_minutes // 60} h" if window_minutes % 60 == 0 else f"{window_minutes} min"
    lines = [f"*Suspect changes* (deploys in the {hours} before it was declared)"]
    ordered = sorted(views, key=lambda v: v.started_at, reverse=True)
    lines.extend(card_line(v, declared_at) for v in ordered[:10])
    if len(ordered) > 10:
        lines.append(f"…and {len(ordered) - 10} more: `/deploy history {escape(ordered[0].service)}`")
    return truncate("\n".join(lines), 2900)


def timeline_text(v: DeployView) -> str:
    """The timeline entry of a deploy or traffic change (stored raw; escaped when rendered)."""
    if v.kind == "traffic":
        before = ", ".join(f"{n} {p}%" for n, p in (v.before or {}).items()) or "nothing"
        after = ", ".join(f"{n} {p}%" for n, p in (v.after or {}).items()) or "nothing"
        return f"Traffic of {v.label} changed outside Flare: {before} -> {after}"
    parts = [f"Deploy of {v.label} {v.status}"]
    if v.revision:
        parts.append(f"revision {v.revision}")
    if v.commit_sha:
        parts.append(f"commit {short_sha(v.commit_sha)}")
    if v.author:
        parts.append(f"by {v.author}")
    if v.seconds is not None:
        parts.append(f"took {duration(v.seconds)}")
    return ", ".join(parts)


def timeline_data(v: DeployView, *, suspect: str) -> dict[str, Any]:
    """Links and ids for the timeline (and the post-mortem)."""
    data: dict[str, Any] = {
        "deploy_id": v.id,
        "kind": v.kind,
        "service": v.service,
        "env": v.env,
        "status": v.status,
        "source": v.source,
        "suspect": suspect,
    }
    for name in ("revision", "image", "commit_sha", "commit_url", "author", "pipeline_url"):
        value = getattr(v, name)
        if value:
            data[name] = value
    if v.before is not None or v.after is not None:
        data["traffic"] = {"before": v.before, "after": v.after}
    url = v.commit_url or v.pipeline_url
    if url:
        data["url"] = url
    return data
