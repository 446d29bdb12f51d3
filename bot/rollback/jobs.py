"""The slow half of the Cloud Run commands, run after the ack: read, render, post.

Each job answers in Slack through the outbox. Expected failures (Cloud Run errors, impossible
plans) become a sentence for the user; anything unexpected is reported to Sentry and the user
gets a reference, as the Bolt error handler does for listeners.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from bot.cloudrun.gateway import CloudRunError
from bot.cloudrun.render import render_overview, render_revision_list, render_status
from bot.cloudrun.targets import Target, targets_in
from bot.container import Container
from bot.health.service import render_health, service_health, summary_text
from bot.incidents import api as incidents
from bot.observability.report import capture_exception
from bot.rollback.flows import fetch
from bot.rollback.plan import PlanError, Request, default_target, make_plan
from bot.rollback.queries import recent_changes
from bot.rollback.record import ephemeral, incident_for
from bot.rollback.render import RollbackView, guard_lines, render_rollback
from bot.rollback.status import overview, service_status
from bot.slack.escape import escape
from bot.slack.outbox import enqueue, post_message

log = logging.getLogger("flare.cloudrun")


async def answering(c: Container, channel: str, user: str, job: Callable[[], Awaitable[None]]) -> None:
    """Run `job`; tell the user in Slack when it fails instead of failing silently."""
    try:
        await job()
    except (CloudRunError, PlanError) as exc:
        await _tell(c, channel, user, f":x: {escape(str(exc))}")
    except Exception as exc:
        ref = capture_exception(exc) or "-"
        log.error("cloud run command failed", exc_info=exc, extra={"ref": ref})
        await _tell(
            c,
            channel,
            user,
            f"Sorry, Flare hit an error and nothing was changed. It has been reported (ref `{ref}`).",
        )


async def _tell(c: Container, channel: str, user: str, text: str) -> None:
    async with c.transaction() as session:
        await enqueue(session, ephemeral(channel, user, text))


async def post_status(c: Container, target: Target, channel: str, *, show_all: bool) -> None:
    """`/deploy status <service>` into the channel."""
    status = await service_status(c, target)
    text, blocks = render_status(status, c.clock.now(), show_all=show_all)
    async with c.transaction() as session:
        await enqueue(session, post_message(channel, text=text, blocks=blocks))


async def post_overview(c: Container, env: str, channel: str) -> None:
    """`/deploy status` without a service: every catalog service in `env`."""
    rows = await overview(c, targets_in(c.catalog, env))
    text, blocks = render_overview(env, rows)
    async with c.transaction() as session:
        await enqueue(session, post_message(channel, text=text, blocks=blocks))


async def post_revision_list(c: Container, target: Target, channel: str, user: str) -> None:
    """`/rollback <service> --list`, only to the user."""
    info, revisions = await fetch(c, target)
    text, blocks = render_revision_list(
        target.service, target.env, info, revisions, c.clock.now(), default_target(info, revisions)
    )
    async with c.transaction() as session:
        await enqueue(session, ephemeral(channel, user, text, blocks))


async def post_preview(
    c: Container, target: Target, channel: str, user: str, request: Request, kind: str = "rollback"
) -> None:
    """`--dry-run`: the plan and its guards, only to the user; nothing is stored or changed."""
    info, revisions = await fetch(c, target)
    window = c.catalog.rollback.loop_window_minutes
    async with c.db.sessions() as session:
        recent = await recent_changes(
            session, target.service, target.env, c.clock.now() - timedelta(minutes=max(window, 1))
        )
    plan = make_plan(
        "traffic" if kind == "traffic" else "rollback",
        request,
        info,
        revisions,
        recent,
        now=c.clock.now(),
        window_minutes=window,
    )
    view = RollbackView(0, plan.kind, target.service, target.env, "dry-run", user, plan)
    text, blocks = render_rollback(view, c.clock.now())
    blocks = [b for b in blocks if b.get("type") != "actions"]
    verdict = (
        ":no_entry: *Would be refused:*\n" + guard_lines(plan.failed_guards)
        if plan.failed_guards
        else ":white_check_mark: *Dry run:* all guards pass; run it without `--dry-run` to propose it."
    )
    blocks.insert(len(blocks) - 1, {"type": "section", "text": {"type": "mrkdwn", "text": verdict}})
    async with c.transaction() as session:
        await enqueue(session, ephemeral(channel, user, "Dry run: " + text, blocks))


async def post_health(c: Container, target: Target, channel: str, user: str) -> None:
    """`/health <service>`: run the catalog's checks concurrently and post the matrix."""
    report = await service_health(c.http, target.environment.health)
    if report is None:
        await _tell(
            c,
            channel,
            user,
            f"No health checks are configured for {escape(target.label)}: add `health.url` or "
            "`health.dependencies` to its environment in the catalog.",
        )
        return
    text, blocks = render_health(target.service, target.env, report)
    async with c.transaction() as session:
        await enqueue(session, post_message(channel, text=text, blocks=blocks))
        incident = await incident_for(session, channel, target.service)
        if incident is not None:
            await incidents.record_event(
                session,
                incident.id,
                kind="health_check",
                text=f"Deep health of {target.label} by {user}: {summary_text(report)}",
                actor=user,
                data={
                    "service": target.service,
                    "env": target.env,
                    "status": report.status,
                    "total_ms": round(report.total_ms, 1),
                    "checks": {r.name: r.as_dict() for r in report.results},
                },
            )
