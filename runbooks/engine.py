"""Running a runbook: step by step in the background, every result stored, posted and recorded.

A run holds a lease while it executes; a run whose lease expires (its instance died) is reported as
interrupted by runbooks/recovery.py. A step with `confirm: true` parks the run in `waiting` (no
lease) until someone clicks Run step, Skip or Stop on any instance.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cloudrun.gateway import CloudRunError
from bot.cloudrun.targets import Target, UnknownTarget, resolve
from bot.container import Container
from bot.db.upsert import insert_ignore
from bot.incidents import api as incidents
from bot.observability.report import capture_exception
from bot.rollback.lease import kept_alive, lease_seconds
from bot.rollback.plan import PlanError
from bot.rollback.record import incident_for
from bot.slack.outbox import enqueue, lane_for, post_message, update_message
from runbooks.conditions import Outcome, evaluate, parse
from runbooks.definition import Runbook, StepSpec
from runbooks.models import RunbookRun, RunbookStepResult
from runbooks.registry import StepContext, StepResult
from runbooks.render import (
    RunView,
    StepLine,
    header_key,
    prompt_key,
    render_header,
    render_prompt,
    render_step,
)
from runbooks.steps import registry

log = logging.getLogger("flare.runbooks")


def view_of(run: RunbookRun) -> RunView:
    """The renderer's view of a run."""
    return RunView(
        run.id,
        Runbook.model_validate(run.definition),
        run.service,
        run.env,
        run.status,
        run.position,
        run.requested_by,
        run.detail,
    )


async def _lines(session: AsyncSession, run_id: int) -> list[StepLine]:
    rows = await session.execute(
        select(RunbookStepResult.position, RunbookStepResult.status, RunbookStepResult.summary)
        .where(RunbookStepResult.run_id == run_id)
        .order_by(RunbookStepResult.position)
    )
    return [StepLine(p, s, t) for p, s, t in rows.all()]


async def refresh_header(session: AsyncSession, run: RunbookRun) -> None:
    """Enqueue a chat.update of the run's header."""
    text, blocks = render_header(view_of(run), await _lines(session, run.id))
    await enqueue(
        session, update_message(header_key(run.id), lane=lane_for(run.channel_id), text=text, blocks=blocks)
    )


async def timeline(
    session: AsyncSession, run: RunbookRun, text: str, *, actor: str | None, data: dict[str, Any]
) -> None:
    """Record in the incident timeline when the run belongs to an incident."""
    if run.incident_id is not None:
        payload = {"run_id": run.id, "runbook": run.runbook, "service": run.service, "env": run.env, **data}
        await incidents.record_event(
            session, run.incident_id, kind="runbook_step", text=text, actor=actor, data=payload
        )


async def start(
    c: Container, runbook: Runbook, target: Target, *, channel: str, user: str, request_key: str
) -> int | None:
    """Store a new run and post its header; None if this request_key already started one."""
    now = c.clock.now()
    async with c.transaction() as session:
        inserted = await insert_ignore(
            session,
            RunbookRun,
            {
                "request_key": request_key[:200],
                "runbook": runbook.name,
                "definition": runbook.model_dump(by_alias=True),
                "service": target.service,
                "env": target.env,
                "channel_id": channel,
                "requested_by": user,
                "status": "running",
                "position": 0,
                "lease_until": now + timedelta(seconds=lease_seconds(c)),
                "created_at": now,
            },
        )
        if not inserted:
            return None
        run = (
            await session.execute(select(RunbookRun).where(RunbookRun.request_key == request_key[:200]))
        ).scalar_one()
        incident = await incident_for(session, channel, target.service)
        run.incident_id = incident.id if incident else None
        text, blocks = render_header(view_of(run), [])
        await enqueue(session, post_message(channel, text=text, blocks=blocks, key=header_key(run.id)))
        await timeline(
            session, run, f"Runbook {runbook.name} started on {target.label} by {user}", actor=user, data={}
        )
        run_id = run.id
    c.spawn(advance(c, run_id), name=f"runbook:{run_id}")
    return run_id


async def _load(c: Container, run_id: int) -> RunbookRun | None:
    async with c.db.sessions() as session:
        return await session.get(RunbookRun, run_id)


async def _outcomes(c: Container, run_id: int, book: Runbook) -> dict[str, Outcome]:
    async with c.db.sessions() as session:
        rows = (
            (await session.execute(select(RunbookStepResult).where(RunbookStepResult.run_id == run_id)))
            .scalars()
            .all()
        )
    return {row.step_id: Outcome(row.status, dict(row.data.get("fields") or {})) for row in rows}


async def advance(c: Container, run_id: int) -> None:
    """Run steps from the run's position until it finishes, fails, waits or is stopped."""
    run = await _load(c, run_id)
    if run is None or run.status != "running":
        return
    book = Runbook.model_validate(run.definition)
    try:
        target = resolve(c.catalog, run.service, run.env)
    except UnknownTarget as exc:
        await finish(c, run_id, "failed", str(exc))
        return

    async def renew(session: AsyncSession) -> bool:
        result = await session.execute(
            update(RunbookRun)
            .where(RunbookRun.id == run_id, RunbookRun.status == "running")
            .values(lease_until=c.clock.now() + timedelta(seconds=lease_seconds(c)))
        )
        return getattr(result, "rowcount", 0) == 1

    async with kept_alive(c, renew, name=f"runbook-run:{run_id}") as lost:
        while not lost.is_set():
            run = await _load(c, run_id)
            if run is None or run.status != "running":
                return
            position = run.position
            if position >= len(book.steps):
                await finish(c, run_id, "succeeded", None)
                return
            spec = book.steps[position]
            if spec.when and not evaluate(parse(spec.when), await _outcomes(c, run_id, book)):
                await record_step(
                    c, run_id, position, spec, StepResult("skipped", f"condition not met: {spec.when}")
                )
                continue
            if spec.confirm and run.confirmed_position != position:
                await ask(c, run_id, position, spec)
                return
            ctx = StepContext(
                c, run_id, position, target, run.channel_id, run.requested_by, f"runbook-run:{run_id}"
            )
            result = await run_step(ctx, spec)
            if not await record_step(c, run_id, position, spec, result):
                return
            if result.status == "failed" and not spec.continue_on_error:
                await finish(c, run_id, "failed", f"step {position + 1} ({spec.id}) failed: {result.summary}")
                return


async def run_step(ctx: StepContext, spec: StepSpec) -> StepResult:
    """Run one step under its timeout; its failure becomes its result, not the run's crash."""
    step_type = registry()[spec.use]
    try:
        params = step_type.params.model_validate(spec.params)
        return await asyncio.wait_for(step_type.run(ctx, params), timeout=spec.timeout_seconds)
    except TimeoutError:
        return StepResult("failed", f"did not finish within {spec.timeout_seconds:g}s")
    except (CloudRunError, PlanError, UnknownTarget) as exc:
        return StepResult("failed", str(exc))
    except Exception as exc:  # one broken step must not leave the run silently stuck
        ref = capture_exception(exc) or "-"
        log.error(
            "runbook step crashed", exc_info=exc, extra={"run": ctx.run_id, "step": spec.id, "ref": ref}
        )
        return StepResult("failed", f"Flare hit an error in this step (reported, ref {ref})")


async def record_step(c: Container, run_id: int, position: int, spec: StepSpec, result: StepResult) -> bool:
    """Store the result and move on (compare-and-set on the position); post and record it."""
    now = c.clock.now()
    async with c.transaction() as session:
        moved = await session.execute(
            update(RunbookRun)
            .where(RunbookRun.id == run_id, RunbookRun.position == position, RunbookRun.status == "running")
            .values(position=position + 1)
            .execution_options(synchronize_session=False)
        )
        if getattr(moved, "rowcount", 0) != 1:
            return False
        await session.execute(
            insert(RunbookStepResult).values(
                run_id=run_id,
                position=position,
                step_id=spec.id,
                use=spec.use,
                status=result.status,
                summary=result.summary[:4000],
                data={"fields": result.fields, **result.data, "lines": result.lines[:50]},
                started_at=now,
                finished_at=now,
            )
        )
        run = await session.get(RunbookRun, run_id)
        assert run is not None
        total = len(view_of(run).runbook.steps)
        text, blocks = render_step(position, total, spec, result.status, result.summary, result.lines)
        await enqueue(
            session, post_message(run.channel_id, text=text, blocks=blocks, thread_key=header_key(run_id))
        )
        await refresh_header(session, run)
        await timeline(
            session,
            run,
            f"Runbook {run.runbook} step {position + 1}/{total} {spec.id} ({spec.use}): {result.status}: "
            f"{result.summary}",
            actor="flare",
            data={
                "step": spec.id,
                "use": spec.use,
                "status": result.status,
                "position": position,
                **result.data,
            },
        )
    return True


async def ask(c: Container, run_id: int, position: int, spec: StepSpec) -> None:
    """Park the run until someone confirms the step."""
    async with c.transaction() as session:
        parked = await session.execute(
            update(RunbookRun)
            .where(RunbookRun.id == run_id, RunbookRun.position == position, RunbookRun.status == "running")
            .values(status="waiting", lease_until=None)
            .execution_options(synchronize_session=False)
        )
        if getattr(parked, "rowcount", 0) != 1:
            return
        run = await session.get(RunbookRun, run_id)
        assert run is not None
        await session.refresh(run)
        text, blocks = render_prompt(view_of(run), position, spec)
        await enqueue(
            session, post_message(run.channel_id, text=text, blocks=blocks, key=prompt_key(run_id, position))
        )
        await refresh_header(session, run)


async def finish(c: Container, run_id: int, status: str, detail: str | None) -> None:
    """End the run and show how it ended."""
    async with c.transaction() as session:
        run = await session.get(RunbookRun, run_id, with_for_update=True)
        if run is None or run.status not in ("running", "waiting"):
            return
        run.status, run.detail, run.finished_at, run.lease_until = status, detail, c.clock.now(), None
        await refresh_header(session, run)
        await timeline(
            session,
            run,
            f"Runbook {run.runbook} on {run.service} ({run.env}) {status}"
            + (f": {detail}" if detail else ""),
            actor="flare",
            data={"status": status},
        )


async def decide(c: Container, run_id: int, position: int, user: str, action: str) -> str | None:
    """A click on a prompt: 'continue', 'skip' or 'stop'. None when it worked, else why not."""
    now = c.clock.now()
    resume = False
    async with c.transaction() as session:
        run = await session.get(RunbookRun, run_id, with_for_update=True)
        if run is None:
            return "That run no longer exists."
        book = view_of(run).runbook
        if action == "stop":
            if run.status not in ("running", "waiting"):
                return f"Run #{run_id} is already {run.status}."
            run.status, run.detail, run.finished_at, run.lease_until = (
                "stopped",
                f"stopped by {user}",
                now,
                None,
            )
            await refresh_header(session, run)
        else:
            if run.status != "waiting" or run.position != position:
                return f"Run #{run_id} is not waiting for step {position + 1} any more ({run.status})."
            run.status, run.lease_until = "running", now + timedelta(seconds=lease_seconds(c))
            run.confirmed_position = position
            resume = True
        word = {"continue": "run", "skip": "skipped", "stop": "stopped the run"}[action]
        if position < len(book.steps):
            text, blocks = render_prompt(view_of(run), position, book.steps[position], f"{word} by {user}")
            await enqueue(
                session,
                update_message(
                    prompt_key(run_id, position), lane=lane_for(run.channel_id), text=text, blocks=blocks
                ),
            )
        await timeline(
            session,
            run,
            f"Runbook {run.runbook} step {position + 1}: {word} by {user}",
            actor=user,
            data={"position": position, "decision": action},
        )
    if resume and action == "skip":
        await record_step(
            c, run_id, position, book.steps[position], StepResult("skipped", f"skipped by {user}")
        )
    if resume:
        c.spawn(advance(c, run_id), name=f"runbook:{run_id}")
    return None
