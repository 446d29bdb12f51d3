"""At Confirm, before any PATCH: read the live service and re-run every guard against it.

If what serves differs from the plan's "before", the change stops as `stale` (the message says
what serves now and offers Plan again). Guards (not Ready, already serving, rolled away from
lately) run again against the live revisions and the recorded history; a `--force` given at
proposal still overrides them and the override is recorded again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from bot.cloudrun.gateway import CloudRunError
from bot.cloudrun.models import ServiceInfo
from bot.cloudrun.targets import Target
from bot.cloudrun.text import plain_split
from bot.container import Container
from bot.rollback.flows import fetch
from bot.rollback.models import Rollback
from bot.rollback.plan import Plan, Request, guards
from bot.rollback.queries import recent_changes
from bot.rollback.record import record
from bot.rollback.render import guard_lines


@dataclass(frozen=True)
class Checked:
    """Go ahead with `current`, or stop with (status, detail)."""

    current: ServiceInfo | None
    stop: tuple[str, str] | None = None
    serving: dict[str, int] | None = None


async def recheck(c: Container, row: Rollback, target: Target, plan: Plan) -> Checked:
    """Read Cloud Run again and decide whether the confirmed plan may still be carried out."""
    try:
        info, revisions = await fetch(c, target)
    except CloudRunError as exc:
        return Checked(
            None,
            (
                "failed",
                f"Could not re-read the service before acting: {exc}. Flare did not change the traffic.",
            ),
        )
    serving = info.serving()
    if serving != plan.before:
        detail = (
            f"now {plain_split(serving) or 'nothing'} (the plan assumed {plain_split(plan.before)}). "
            "Flare did not change anything; plan again from what serves now."
        )
        return Checked(info, ("stale", detail), serving)
    missing = [n for n in plan.after if n not in {r.name for r in revisions}]
    if missing:
        return Checked(info, ("refused", f"revision {', '.join(missing)} no longer exists"), serving)
    window = c.catalog.rollback.loop_window_minutes
    now = c.clock.now()
    async with c.db.sessions() as session:
        recent = await recent_changes(session, row.service, row.env, now - timedelta(minutes=max(window, 1)))
    recent = [r for r in recent if r.id != row.id]
    force = Request.from_json(row.request).force
    checks = guards(
        plan.kind,
        serving,
        plan.after,
        {r.name: r for r in revisions},
        recent,
        now=now,
        window_minutes=window,
        force=force,
    )
    if plan.allocation is not None:
        checks = [g for g in checks if g.name != "already_serving"] + [
            g for g in plan.guards if g.name == "already_serving"
        ]
    rechecked = plan.with_guards(checks)
    if rechecked.failed_guards:
        detail = "At Confirm, against the live service:\n" + guard_lines(rechecked.failed_guards)
        return Checked(info, ("refused", detail), serving)
    if rechecked.overridden_guards:
        async with c.transaction() as session:
            fresh = await session.get(Rollback, row.id)
            if fresh is not None:
                for guard in rechecked.overridden_guards:
                    await record(
                        session,
                        fresh,
                        "guard_overridden",
                        f"At Confirm: guard {guard.name} overridden with --force: {guard.message}",
                        actor=row.confirmed_by,
                        data={"guard": guard.name, "at": "confirm"},
                    )
    return Checked(info)
