"""The step implementations: list_revisions, deep_health, rollback, traffic_split, post_message, wait,
http_check. Steps that change traffic only propose: the usual confirmation, rbac, guards and lock apply.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Literal

import aiohttp
from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.cloudrun.targets import Target, resolve
from bot.cloudrun.text import ago
from bot.health.service import service_health, summary_text
from bot.rollback import flows
from bot.rollback.models import Rollback
from bot.rollback.plan import Request, default_target, find_revision, newest_serving
from bot.rollback.requests import request_change
from bot.slack.outbox import enqueue, post_message
from runbooks.registry import StepContext, StepResult, StepType

CHANGE_STATUSES = frozenset(
    {
        "proposed",
        "succeeded",
        "unverified",
        "failed",
        "refused",
        "cancelled",
        "interrupted",
        "timed_out",
        "stale",
        "expired",
        "replaced",
    }
)
TERMINAL = CHANGE_STATUSES - {"proposed"}


class Params(BaseModel):
    """Step parameters: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class TargetParams(Params):
    """Parameters of steps that read a service: by default the run's own."""

    service: str | None = None
    env: str | None = None


def target_of(ctx: StepContext, params: TargetParams) -> Target:
    """The run's target, or the one the step names."""
    if params.service is None and params.env is None:
        return ctx.target
    return resolve(ctx.c.catalog, params.service or ctx.target.service, params.env or ctx.target.env)


class ListRevisions(TargetParams):
    """list_revisions: the newest revisions, with traffic and readiness."""

    limit: int = Field(default=5, ge=1, le=50)


async def list_revisions(ctx: StepContext, params: ListRevisions) -> StepResult:
    """What serves, and the newest revisions."""
    target = target_of(ctx, params)
    info, revisions = await flows.fetch(ctx.c, target)
    serving = info.serving()
    now = ctx.c.clock.now()
    lines = []
    for revision in revisions[: params.limit]:
        share = serving.get(revision.name, 0)
        ready = "Ready" if revision.ready else "NOT Ready"
        lines.append(
            f"{revision.name}: {share}% · {ready} · {ago(revision.created, now)} old · {revision.image}"
        )
    fallback = default_target(info, revisions)
    summary = (
        "serving " + ", ".join(f"{n} {p}%" for n, p in serving.items()) if serving else "nothing serving"
    )
    return StepResult(
        "ok",
        f"{target.label}: {summary}; {len(revisions)} revisions"
        + (f"; the default rollback target is {fallback}" if fallback else "; no older Ready revision"),
        lines,
        fields={
            "count": len(revisions),
            "ready_count": sum(r.ready for r in revisions),
            "has_rollback_target": "yes" if fallback else "no",
        },
        data={"serving": serving, "default_target": fallback},
    )


class DeepHealth(TargetParams):
    """deep_health: the service's catalog health checks."""


async def deep_health(ctx: StepContext, params: DeepHealth) -> StepResult:
    """Run the service's health checks concurrently."""
    target = target_of(ctx, params)
    report = await service_health(ctx.c.http, target.environment.health)
    if report is None:
        return StepResult("unknown", f"no health checks are configured for {target.label}")
    lines = [
        f"{r.name}: {r.status} · {r.latency_ms:,.0f} ms · {r.detail}".rstrip(" ·") for r in report.results
    ]
    failing = sum(r.status != "healthy" for r in report.results)
    return StepResult(
        report.status,
        f"{target.label} is {summary_text(report)}",
        lines,
        fields={"failing": failing, "total_ms": round(report.total_ms, 1)},
        data={"checks": {r.name: r.as_dict() for r in report.results}, "total_ms": round(report.total_ms, 1)},
    )


class ChangeParams(Params):
    """Shared by rollback and traffic_split."""

    force: bool = False
    wait_for_outcome: bool = True
    timeout_minutes: float = Field(default=30.0, gt=0, le=24 * 60)


class RollbackParams(ChangeParams):
    """rollback: propose a rollback (default: the previous Ready revision)."""

    to: str | None = None
    steps: int = Field(default=1, ge=1, le=100)


class TrafficParams(ChangeParams):
    """traffic_split: propose a split; keys are revisions or serving / previous / latest."""

    splits: dict[str, int]

    @field_validator("splits")
    @classmethod
    def _sums_to_100(cls, value: dict[str, int]) -> dict[str, int]:
        if any(not 0 <= p <= 100 for p in value.values()):
            raise ValueError("percentages must be between 0 and 100")
        if sum(value.values()) != 100:
            raise ValueError(f"the percentages add up to {sum(value.values())}, not 100")
        return value


async def _propose(
    ctx: StepContext, kind: Literal["rollback", "traffic"], request: Request, params: ChangeParams
) -> StepResult:
    c = ctx.c
    requested = await request_change(
        c,
        request_key=f"{ctx.request_key}:{ctx.position}",
        kind=kind,
        service=ctx.target.service,
        env=ctx.target.env,
        channel=ctx.channel,
        user=ctx.requested_by,
        request=request,
        runbook_run_id=ctx.run_id,
    )
    if requested.open_id is not None:
        return StepResult(
            "refused",
            f"change #{requested.open_id} is already open for {ctx.target.label}; confirm or cancel it first",
            fields={"change": requested.open_id},
            data={"change_id": requested.open_id},
        )
    change_id = requested.id
    if change_id is None:  # this step already proposed it before a restart: follow that one
        async with c.db.sessions() as session:
            from sqlalchemy import select

            change_id = (
                await session.execute(
                    select(Rollback.id).where(Rollback.request_key == f"{ctx.request_key}:{ctx.position}")
                )
            ).scalar_one()
    status = await flows.plan_and_propose(c, change_id)
    if status == "proposed" and params.wait_for_outcome:
        status = await _wait_for_outcome(ctx, change_id, params.timeout_minutes * 60)
    row = await flows.load(c, change_id)
    detail = (row.detail if row else None) or ""
    word = "rollback" if kind == "rollback" else "traffic change"
    summary = {
        "proposed": f"{word} proposed as change #{change_id}: confirm it in the message above",
        "timed_out": f"change #{change_id} was not confirmed in time; it is still open",
    }.get(status, f"{word} (change #{change_id}) {status}" + (f": {detail}" if detail else ""))
    return StepResult(status, summary, fields={"change": change_id}, data={"change_id": change_id})


async def _wait_for_outcome(ctx: StepContext, change_id: int, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    interval = min(0.5, max(ctx.c.settings.flare_outbox_lease_seconds / 4, 0.05))
    while time.monotonic() < deadline:
        row = await flows.load(ctx.c, change_id)
        if row is not None and row.status in TERMINAL:
            return row.status
        await asyncio.sleep(interval)
    return "timed_out"


async def rollback(ctx: StepContext, params: RollbackParams) -> StepResult:
    """Propose a rollback; with wait_for_outcome, wait until it is confirmed and done."""
    if params.to:
        request = Request(mode="to", to=params.to, force=params.force)
    else:
        request = Request(mode="steps", steps=params.steps, force=params.force)
    return await _propose(ctx, "rollback", request, params)


async def traffic_split(ctx: StepContext, params: TrafficParams) -> StepResult:
    """Propose a traffic split; `serving`, `previous` and `latest` name revisions at run time."""
    info, revisions = await flows.fetch(ctx.c, ctx.target)
    symbols: Mapping[str, str | None] = {
        "serving": newest_serving(info, revisions).name,
        "previous": default_target(info, revisions),
        "latest": info.latest_ready_revision,
    }
    splits: dict[str, int] = {}
    for name, percent in params.splits.items():
        resolved = symbols[name] if name in symbols else find_revision(revisions, name, info.ref.service).name
        if resolved is None:
            return StepResult("failed", f"there is no '{name}' revision for {ctx.target.label}")
        splits[resolved] = splits.get(resolved, 0) + percent
    request = Request(mode="split", splits=splits, force=params.force)
    return await _propose(ctx, "traffic", request, params)


class PostMessage(Params):
    """post_message: say something in the run's channel ({service} and {env} are filled in)."""

    text: str = Field(min_length=1, max_length=2000)


async def post(ctx: StepContext, params: PostMessage) -> StepResult:
    """Post the text in the channel (escaped)."""
    from bot.slack.escape import escape

    text = params.text.replace("{service}", ctx.target.service).replace("{env}", ctx.target.env)
    async with ctx.c.transaction() as session:
        await enqueue(session, post_message(ctx.channel, text=escape(text)))
    return StepResult("ok", text)


class Wait(Params):
    """wait: pause the run."""

    seconds: float = Field(gt=0, le=3600)


async def wait(ctx: StepContext, params: Wait) -> StepResult:
    """Sleep; the run's lease stays renewed meanwhile."""
    await asyncio.sleep(params.seconds)
    return StepResult("ok", f"waited {params.seconds:g}s")


class HttpCheck(Params):
    """http_check: GET a URL from the runbook definition and compare the status code."""

    url: str
    expect_status: int = Field(default=200, ge=100, le=599)
    timeout_seconds: float = Field(default=5.0, gt=0, le=60)

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("url must start with http:// or https://")
        return value


async def http_check(ctx: StepContext, params: HttpCheck) -> StepResult:
    """GET the URL (no redirects) within the timeout."""
    started = time.perf_counter()
    try:
        async with ctx.c.http.get(
            params.url, allow_redirects=False, timeout=aiohttp.ClientTimeout(total=params.timeout_seconds)
        ) as response:
            code = response.status
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        latency = round((time.perf_counter() - started) * 1000, 1)
        what = "timed out" if isinstance(exc, TimeoutError) else type(exc).__name__
        return StepResult(
            "unhealthy", f"{params.url}: {what}", fields={"latency_ms": latency, "status_code": 0}
        )
    latency = round((time.perf_counter() - started) * 1000, 1)
    status = "healthy" if code == params.expect_status else "unhealthy"
    return StepResult(
        status,
        f"{params.url}: HTTP {code} (expected {params.expect_status}) in {latency:,.0f} ms",
        fields={"status_code": code, "latency_ms": latency},
    )


HEALTH = frozenset({"healthy", "degraded", "unhealthy", "unknown"})
STEP_TYPES: dict[str, StepType] = {
    s.name: s
    for s in [
        StepType(
            "list_revisions",
            "list the newest revisions and what serves",
            ListRevisions,
            frozenset({"ok"}),
            frozenset({"count", "ready_count", "has_rollback_target"}),
            list_revisions,
            ("service",),
        ),
        StepType(
            "deep_health",
            "run the service's health checks",
            DeepHealth,
            HEALTH,
            frozenset({"failing", "total_ms"}),
            deep_health,
            ("service",),
        ),
        StepType(
            "rollback",
            "propose a rollback (confirmation, rbac, guards and lock apply)",
            RollbackParams,
            CHANGE_STATUSES,
            frozenset({"change"}),
            rollback,
        ),
        StepType(
            "traffic_split",
            "propose a traffic split",
            TrafficParams,
            CHANGE_STATUSES,
            frozenset({"change"}),
            traffic_split,
        ),
        StepType(
            "post_message", "post a message in the channel", PostMessage, frozenset({"ok"}), frozenset(), post
        ),
        StepType("wait", "wait some seconds", Wait, frozenset({"ok"}), frozenset(), wait),
        StepType(
            "http_check",
            "GET a URL and check the status",
            HttpCheck,
            frozenset({"healthy", "unhealthy"}),
            frozenset({"status_code", "latency_ms"}),
            http_check,
        ),
    ]
}


def registry() -> Mapping[str, StepType]:
    """Every step type, by name."""
    return STEP_TYPES
