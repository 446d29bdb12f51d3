"""The Cloud Run watcher: finds deploys and traffic changes nobody announced, for `watch: true` targets.

Each tick (or the optional loop) polls the targets that are due. A poll is claimed with a
compare-and-set on the target's watch row (`next_poll_at`, `version`), so two instances ticking at
once poll a target once; the result is written only if the version is still the claimed one, in
the same transaction as the deploy rows and their messages. The first poll of a target is a
baseline: it announces nothing.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cloudrun.gateway import CloudRunError
from bot.cloudrun.models import Revision, ServiceInfo
from bot.cloudrun.targets import Target
from bot.container import Container
from bot.db.upsert import insert_ignore
from bot.deploys.detect import Observation, Snapshot, gained, observe
from bot.deploys.models import Deploy, WatchState
from bot.deploys.schema import revision_key
from bot.deploys.service import insert_returning_id, publish
from bot.observability.report import capture_exception
from bot.rollback.models import Rollback
from bot.rollback.plan import Plan

log = logging.getLogger("flare.deploys")

# A pipeline deploy that started this recently and has no revision yet is the likely author of a
# new revision the watcher sees (it is attributed to it instead of being announced twice).
ATTRIBUTION_WINDOW = timedelta(hours=2)
# Clock skew and slow polls: look this much further back for announcements and Flare's own changes.
MARGIN = timedelta(minutes=10)


def watched(c: Container) -> list[Target]:
    """Every catalog service/environment with `watch: true`."""
    return [
        Target(service.name, env, environment)
        for service in c.catalog.services
        for env, environment in service.environments.items()
        if environment.watch
    ]


async def poll_due(c: Container) -> list[str]:
    """Poll every watched target that is due (tick job); the labels of those this instance polled."""
    targets = watched(c)
    if not targets:
        return []
    polled = await asyncio.gather(*(poll(c, target) for target in targets))
    return [t.label for t, done in zip(targets, polled, strict=True) if done]


async def tick(c: Container) -> None:
    """The tick job: poll the watched targets that are due."""
    await poll_due(c)


async def poll(c: Container, target: Target) -> bool:
    """Claim, read Cloud Run, and record what changed; False when another poll had it or it failed."""
    claimed = await _claim(c, target)
    if claimed is None:
        return False
    version, previous = claimed
    try:
        info = await c.cloudrun.get_service(target.ref)
        # Listing revisions is the expensive read: skip it while Cloud Run has created none.
        unchanged = previous is not None and previous.unchanged(info)
        revisions = [] if unchanged else await c.cloudrun.list_revisions(target.ref)
    except CloudRunError as exc:
        log.warning("watcher could not read Cloud Run", extra={"target": target.label, "error": str(exc)})
        await _record_error(c, target, version, str(exc))
        return False
    created = await _apply(c, target, version, info, revisions)
    for _ in created:
        c.metrics.deploys.labels(target.service, target.env, "succeeded").inc()
    return True


async def _claim(c: Container, target: Target) -> tuple[int, Snapshot | None] | None:
    """Take this target's poll (compare-and-set on next_poll_at); (version, last snapshot) or None."""
    now = c.clock.now()
    interval = timedelta(seconds=c.catalog.deploys.watch_interval_seconds)
    async with c.transaction() as session:
        await insert_ignore(
            session,
            WatchState,
            {"service": target.service, "env": target.env, "state": {}, "version": 0, "next_poll_at": now},
        )
        result = await session.execute(
            update(WatchState)
            .where(
                WatchState.service == target.service,
                WatchState.env == target.env,
                WatchState.next_poll_at <= now,
            )
            .values(next_poll_at=now + interval, version=WatchState.version + 1)
            .returning(WatchState.version, WatchState.state)
            .execution_options(synchronize_session=False)
        )
        row = result.one_or_none()
        return None if row is None else (int(row[0]), Snapshot.from_json(row[1] or {}))


async def _locked_state(session: AsyncSession, target: Target, version: int) -> WatchState | None:
    row = await session.get(
        WatchState, (target.service, target.env), with_for_update=True, populate_existing=True
    )
    return row if row is not None and row.version == version else None


async def _record_error(c: Container, target: Target, version: int, error: str) -> None:
    async with c.transaction() as session:
        row = await _locked_state(session, target, version)
        if row is not None:
            row.last_error = error[:2000]


async def _apply(
    c: Container, target: Target, version: int, info: ServiceInfo, revisions: list[Revision]
) -> list[int]:
    now = c.clock.now()
    created: list[int] = []
    async with c.transaction() as session:
        row = await _locked_state(session, target, version)
        if row is None:
            return []  # another instance claimed the target since; its poll counts
        previous = Snapshot.from_json(row.state)
        seen = observe(previous, info, revisions, now)
        since = (row.polled_at or now) - MARGIN
        running = await _flare_change_running(session, target)
        announced: set[str] = set()
        for revision in seen.new_ready:
            deploy_id = await _revision_seen(c, session, target, revision, seen)
            announced.add(revision.name)
            if deploy_id is not None:
                created.append(deploy_id)
        snapshot = seen.snapshot
        if seen.before is not None and running:
            # Flare is moving traffic right now: judge the new split once that change has finished.
            snapshot = Snapshot(seen.before, snapshot.seen_until, snapshot.pending)
        elif seen.before is not None:
            await _traffic_seen(c, session, target, version, seen, announced, since)
        row.state = snapshot.to_json()
        row.polled_at = now
        row.last_error = None
    return created


async def _revision_seen(
    c: Container, session: AsyncSession, target: Target, revision: Revision, seen: Observation
) -> int | None:
    """Announce a new Ready revision unless a pipeline did (or is doing) it; the new deploy's id."""
    now = c.clock.now()
    existing = (
        await session.execute(
            select(Deploy.id).where(
                Deploy.service == target.service, Deploy.env == target.env, Deploy.revision == revision.name
            )
        )
    ).first()
    if existing is not None:
        return None
    started = (
        await session.execute(
            select(Deploy)
            .where(
                Deploy.service == target.service,
                Deploy.env == target.env,
                Deploy.kind == "deploy",
                Deploy.status == "started",
                Deploy.revision.is_(None),
                Deploy.started_at >= now - ATTRIBUTION_WINDOW,
            )
            .order_by(Deploy.started_at.desc(), Deploy.id.desc())
            .limit(1)
            .with_for_update()
        )
    ).scalar_one_or_none()
    if started is not None:
        started.revision = revision.name
        started.image = started.image or revision.image
        started.updated_at = now
        await session.flush()
        await publish(c, session, started, created=False)
        return None
    moved = seen.before is not None and revision.name in gained(seen.before, seen.after)
    at = revision.created or now
    values = {
        "kind": "deploy",
        "service": target.service,
        "env": target.env,
        "key": revision_key(revision.name),
        "source": "watcher",
        "status": "succeeded",
        "revision": revision.name,
        "image": revision.image[:500] or None,
        "author": (revision.deployer or "")[:200] or None,
        "traffic": {"before": seen.before, "after": seen.after} if moved else None,
        "started_at": at,
        "finished_at": at,
        "created_at": now,
        "updated_at": now,
    }
    new_id = await insert_returning_id(session, values)
    if new_id is None:
        return None
    await publish(c, session, Deploy(id=new_id, **values), created=True)
    return new_id


async def _traffic_seen(
    c: Container,
    session: AsyncSession,
    target: Target,
    version: int,
    seen: Observation,
    announced: set[str],
    since: datetime,
) -> None:
    """Announce a traffic change unless a deploy explains it or Flare made it."""
    assert seen.before is not None
    grew = gained(seen.before, seen.after)
    recently = await _announced_since(session, target, grew, since)
    if grew and grew <= announced | recently:
        return
    if await _made_by_flare(session, target, seen.after, since):
        return
    now = c.clock.now()
    values = {
        "kind": "traffic",
        "service": target.service,
        "env": target.env,
        "key": f"traffic:{version}",
        "source": "watcher",
        "status": "succeeded",
        "traffic": {"before": seen.before, "after": seen.after},
        "started_at": now,
        "finished_at": now,
        "created_at": now,
        "updated_at": now,
    }
    new_id = await insert_returning_id(session, values)
    if new_id is not None:
        await publish(c, session, Deploy(id=new_id, **values), created=True)


async def _announced_since(
    session: AsyncSession, target: Target, names: set[str], since: datetime
) -> set[str]:
    """Which of `names` a deploy announced (or updated) since `since`."""
    if not names:
        return set()
    rows = await session.execute(
        select(Deploy.revision).where(
            Deploy.service == target.service,
            Deploy.env == target.env,
            Deploy.revision.in_(names),
            Deploy.updated_at >= since,
        )
    )
    return {str(name) for (name,) in rows.all()}


async def _flare_change_running(session: AsyncSession, target: Target) -> bool:
    rows = await session.execute(
        select(Rollback.id).where(
            Rollback.service == target.service, Rollback.env == target.env, Rollback.status == "running"
        )
    )
    return rows.first() is not None


async def _made_by_flare(
    session: AsyncSession, target: Target, after: dict[str, int], since: datetime
) -> bool:
    """True when a Flare rollback or traffic change that ended lately left exactly this split."""
    rows = await session.execute(
        select(Rollback.plan).where(
            Rollback.service == target.service,
            Rollback.env == target.env,
            Rollback.started_at.is_not(None),
            (Rollback.finished_at.is_(None)) | (Rollback.finished_at >= since),
        )
    )
    return any(plan and Plan.from_json(plan).after == after for (plan,) in rows.all())


async def watch_loop(c: Container) -> None:
    """Poll at `deploys.watch_interval_seconds` from this process too, when `deploys.watch_loop` is on."""
    if not c.catalog.deploys.watch_loop or not watched(c):
        return
    interval = c.catalog.deploys.watch_interval_seconds
    while True:
        await asyncio.sleep(interval)
        try:
            await poll_due(c)
        except Exception as exc:
            # The loop outlives a database outage: report it and try again at the next interval.
            capture_exception(exc)
            log.exception("watcher poll failed; retrying at the next interval")
