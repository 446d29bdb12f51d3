"""Storing a batch of alerts in one transaction: dedup, resolve, and group membership, in bulk.

Order of work (and of row locks, so concurrent instances do not deadlock): open occurrences
(by id), new occurrences (sorted by identity), groups (by id), then membership rows.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.alerts.alert import Alert
from bot.alerts.models import AlertGroup, AlertGroupMember, AlertRecord
from bot.alerts.routing import Target
from bot.catalog.routing import most_severe
from bot.db.dedup import first_delivery

Identity = tuple[str, str, datetime]
OpenKey = tuple[str, str]


@dataclass
class Submission:
    """One request's alerts, each with the groups it goes to."""

    alerts: list[tuple[Alert, list[Target]]]
    delivery_key: str | None = None


@dataclass
class Outcome:
    """What storing one submission changed."""

    stored: int = 0
    resolved: int = 0
    duplicates: int = 0
    unrouted: int = 0
    replay: bool = False
    groups: set[int] = field(default_factory=set)
    # Groups that gained firing alerts whose route auto-declares at their severity.
    declare: set[int] = field(default_factory=set)


@dataclass
class _Insert:
    owner: int
    alert: Alert
    targets: list[Target]
    status: str
    ends_at: datetime | None


@dataclass
class _GroupChange:
    firing: int = 0
    total: int = 0
    severities: list[str] = field(default_factory=list)
    first_seen: datetime | None = None
    last_ended: datetime | None = None
    members: list[int] = field(default_factory=list)
    template: tuple[Alert, Target] | None = None
    owners: set[int] = field(default_factory=set)
    declare_owners: set[int] = field(default_factory=set)


async def store_batch(session: AsyncSession, batch: list[Submission], now: datetime) -> list[Outcome]:
    """Store every submission in `session`'s transaction; one Outcome per submission, in order."""
    outcomes = [Outcome() for _ in batch]
    items: list[tuple[int, Alert, list[Target]]] = []
    for owner, sub in enumerate(batch):
        if sub.delivery_key is not None and not await first_delivery(session, sub.delivery_key):
            outcomes[owner].replay = True
            outcomes[owner].duplicates = len(sub.alerts)
            continue
        items.extend((owner, alert, targets) for alert, targets in sub.alerts)
    if not items:
        return outcomes

    open_rows = await _lock_open(session, items)
    closes: dict[int, datetime] = {}  # alert id -> ends_at
    close_owner: dict[int, int] = {}
    inserts: dict[Identity, _Insert] = {}
    # What is open after each step: an existing row id, or the identity of a planned insert.
    state: dict[OpenKey, tuple[int | Identity, datetime]] = {k: (i, s) for k, (i, s) in open_rows.items()}

    for owner, alert, targets in items:
        key = (alert.source, alert.dedup_key)
        current = state.get(key)
        if alert.status == "firing":
            if current is not None:
                _, start = current
                if not alert.exact_start or alert.starts_at <= start:
                    outcomes[owner].duplicates += 1
                    continue
                _close(current[0], alert.starts_at, owner, closes, close_owner, inserts)
            if alert.identity in inserts:
                outcomes[owner].duplicates += 1
                continue
            inserts[alert.identity] = _Insert(owner, alert, targets, "firing", None)
            state[key] = (alert.identity, alert.starts_at)
            continue
        ends = alert.ends_at or now
        if current is not None:
            ref, start = current
            if alert.exact_start and alert.starts_at != start:
                if alert.starts_at < start:
                    outcomes[owner].duplicates += 1  # a late resolve of an older occurrence
                    continue
                _close(ref, alert.starts_at, owner, closes, close_owner, inserts)
                del state[key]
            else:
                _close(ref, ends, owner, closes, close_owner, inserts)
                del state[key]
                continue
        elif not alert.exact_start:
            outcomes[owner].duplicates += 1  # nothing open to resolve: a replay, or never seen firing
            continue
        if alert.identity in inserts:
            outcomes[owner].duplicates += 1
            continue
        inserts[alert.identity] = _Insert(owner, alert, targets, "resolved", ends)

    if closes:
        # ORM bulk UPDATE by primary key: one executemany.
        await session.execute(
            update(AlertRecord),
            [
                {"id": i, "status": "resolved", "ends_at": e, "updated_at": now}
                for i, e in sorted(closes.items())
            ],
        )
        for _alert_id, owner in close_owner.items():
            outcomes[owner].resolved += 1
    new_ids = await _insert_alerts(session, inserts, now)
    for identity, plan in inserts.items():
        if identity in new_ids:
            outcomes[plan.owner].stored += 1
            if plan.status == "resolved" and plan.alert.status == "firing":
                outcomes[plan.owner].resolved += 1
        else:
            outcomes[plan.owner].duplicates += 1

    for identity, plan in inserts.items():
        if identity in new_ids and not plan.targets:
            outcomes[plan.owner].unrouted += 1
    by_id, by_key = await _plan_groups(session, inserts, new_ids, closes, close_owner)
    await _apply_groups(session, by_id, by_key, outcomes, now)
    return outcomes


def _close(
    ref: int | Identity,
    ends: datetime,
    owner: int,
    closes: dict[int, datetime],
    close_owner: dict[int, int],
    inserts: dict[Identity, _Insert],
) -> None:
    if isinstance(ref, int):
        closes[ref] = ends
        close_owner[ref] = owner
    else:
        planned = inserts[ref]
        planned.status = "resolved"
        planned.ends_at = ends


async def _lock_open(
    session: AsyncSession, items: list[tuple[int, Alert, list[Target]]]
) -> dict[OpenKey, tuple[int, datetime]]:
    by_source: dict[str, set[str]] = defaultdict(set)
    for _, alert, _ in items:
        by_source[alert.source].add(alert.dedup_key)
    clauses = [
        and_(AlertRecord.source == source, AlertRecord.dedup_key.in_(sorted(keys)))
        for source, keys in by_source.items()
    ]
    rows = await session.execute(
        select(AlertRecord.id, AlertRecord.source, AlertRecord.dedup_key, AlertRecord.starts_at)
        .where(AlertRecord.status == "firing", or_(*clauses))
        .order_by(AlertRecord.id)
        .with_for_update()
    )
    return {(r.source, r.dedup_key): (r.id, r.starts_at) for r in rows}


def _insert_stmt(session: AsyncSession, model: type[Any]) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)


async def _insert_alerts(
    session: AsyncSession, inserts: dict[Identity, _Insert], now: datetime
) -> dict[Identity, int]:
    if not inserts:
        return {}
    rows = []
    for identity in sorted(inserts, key=lambda i: (i[0], i[1], i[2].timestamp())):
        plan = inserts[identity]
        alert = plan.alert
        rows.append(
            {
                "source": alert.source,
                "dedup_key": alert.dedup_key,
                "starts_at": alert.starts_at,
                "status": plan.status,
                "ends_at": plan.ends_at,
                "received_at": now,
                "updated_at": now,
                "title": alert.title,
                "summary": alert.summary,
                "service": alert.service,
                "severity": (alert.severity or "")[:32] or None,
                "env": (alert.env or "")[:64] or None,
                "runbook": alert.runbook,
                "labels": alert.labels,
                "annotations": alert.annotations,
                "links": alert.links.as_dict(),
            }
        )
    stmt = (
        _insert_stmt(session, AlertRecord)
        .on_conflict_do_nothing()
        .returning(AlertRecord.id, AlertRecord.source, AlertRecord.dedup_key, AlertRecord.starts_at)
    )
    result = await session.execute(stmt, rows)
    return {(r.source, r.dedup_key, r.starts_at): r.id for r in result}


GroupKey = tuple[str, str]  # (channel, group_key)


async def _plan_groups(
    session: AsyncSession,
    inserts: dict[Identity, _Insert],
    new_ids: dict[Identity, int],
    closes: dict[int, datetime],
    close_owner: dict[int, int],
) -> tuple[dict[int, _GroupChange], dict[GroupKey, _GroupChange]]:
    by_id: dict[int, _GroupChange] = defaultdict(_GroupChange)
    by_key: dict[GroupKey, _GroupChange] = defaultdict(_GroupChange)
    if closes:
        rows = await session.execute(
            select(AlertGroupMember.group_id, AlertGroupMember.alert_id).where(
                AlertGroupMember.alert_id.in_(sorted(closes))
            )
        )
        for group_id, alert_id in rows:
            change = by_id[group_id]
            change.firing -= 1
            change.owners.add(close_owner[alert_id])
            ended = closes[alert_id]
            change.last_ended = max(change.last_ended or ended, ended)
    for identity, plan in inserts.items():
        new_id = new_ids.get(identity)
        if new_id is None:
            continue
        for target in plan.targets:
            change = by_key[(target.channel, target.group_key)]
            change.total += 1
            change.members.append(new_id)
            change.owners.add(plan.owner)
            if change.template is None:
                change.template = (plan.alert, target)
            start = plan.alert.starts_at
            change.first_seen = min(change.first_seen or start, start)
            if plan.status == "firing":
                change.firing += 1
                change.severities.append(target.severity)
                if target.auto_declare:
                    change.declare_owners.add(plan.owner)
            elif plan.ends_at is not None:
                change.last_ended = max(change.last_ended or plan.ends_at, plan.ends_at)
    return by_id, by_key


async def _apply_groups(
    session: AsyncSession,
    by_id: dict[int, _GroupChange],
    by_key: dict[GroupKey, _GroupChange],
    outcomes: list[Outcome],
    now: datetime,
) -> None:
    pending = dict(by_key)
    updates: dict[int, list[_GroupChange]] = defaultdict(list)
    for group_id, change in by_id.items():
        updates[group_id].append(change)
    rows: dict[int, Any] = {}
    created: dict[int, _GroupChange] = {}
    for _attempt in range(3):
        found = await _lock_groups(session, set(updates) - set(rows), set(pending))
        for row in found:
            rows[row.id] = row
            if row.resolved_at is not None or (row.channel, row.group_key) not in pending:
                continue
            updates[row.id].append(pending.pop((row.channel, row.group_key)))
        if not pending:
            break
        inserted = await _insert_groups(session, pending, now)
        for group_key, group_id in inserted.items():
            created[group_id] = pending.pop(group_key)
        if not pending:
            break
        # Another instance created some of these groups meanwhile: lock theirs and join them.
    if pending:
        raise RuntimeError("could not settle alert groups after 3 attempts")

    params = []
    for group_id in sorted(updates):
        row = rows.get(group_id)
        if row is None:
            continue
        merged = updates[group_id]
        firing = max(row.firing + sum(c.firing for c in merged), 0)
        total = row.total + sum(c.total for c in merged)
        ends = [c.last_ended for c in merged if c.last_ended is not None]
        last_ended = (
            max([row.last_ended_at, *ends] if row.last_ended_at else ends) if ends else row.last_ended_at
        )
        starts = [c.first_seen for c in merged if c.first_seen is not None]
        params.append(
            {
                "id": group_id,
                "firing": firing,
                "total": total,
                "severity": most_severe([row.severity, *(s for c in merged for s in c.severities)]),
                "first_seen": min([row.first_seen, *starts]),
                "last_ended_at": last_ended,
                "resolved_at": (row.resolved_at or now) if firing == 0 else None,
                "version": row.version + 1,
                "updated_at": now,
            }
        )
        _credit(group_id, merged, outcomes)
    if params:
        await session.execute(update(AlertGroup), params)
    for group_id, change in created.items():
        _credit(group_id, [change], outcomes)
    members = [
        {"group_id": group_id, "alert_id": alert_id, "reported": 0}
        for group_id in sorted({*updates, *created})
        for change in (updates.get(group_id) or [created[group_id]])
        for alert_id in change.members
    ]
    if members:
        await session.execute(insert(AlertGroupMember), members)


def _credit(group_id: int, changes: list[_GroupChange], outcomes: list[Outcome]) -> None:
    for change in changes:
        for owner in change.owners:
            outcomes[owner].groups.add(group_id)
        for owner in change.declare_owners:
            outcomes[owner].declare.add(group_id)


async def _lock_groups(session: AsyncSession, ids: set[int], keys: set[GroupKey]) -> list[Any]:
    if not ids and not keys:
        return []
    clauses: list[ColumnElement[bool]] = []
    if ids:
        clauses.append(AlertGroup.id.in_(sorted(ids)))
    if keys:
        clauses.append(
            and_(AlertGroup.resolved_at.is_(None), AlertGroup.group_key.in_(sorted({k for _, k in keys})))
        )
    result = await session.execute(
        select(
            AlertGroup.id,
            AlertGroup.channel,
            AlertGroup.group_key,
            AlertGroup.firing,
            AlertGroup.total,
            AlertGroup.severity,
            AlertGroup.first_seen,
            AlertGroup.last_ended_at,
            AlertGroup.resolved_at,
            AlertGroup.version,
        )
        .where(or_(*clauses))
        .order_by(AlertGroup.id)
        .with_for_update()
    )
    return [
        row
        for row in result
        if row.id in ids or (row.resolved_at is None and (row.channel, row.group_key) in keys)
    ]


async def _insert_groups(
    session: AsyncSession, pending: dict[GroupKey, _GroupChange], now: datetime
) -> dict[GroupKey, int]:
    rows = []
    for channel, group_key in sorted(pending):
        change = pending[(channel, group_key)]
        assert change.template is not None
        assert change.first_seen is not None
        alert, target = change.template
        rows.append(
            {
                "channel": channel,
                "group_key": group_key,
                "route": target.route[:100],
                "source": alert.source,
                "title": alert.title,
                "service": alert.service,
                "env": (alert.env or "")[:64] or None,
                "severity": most_severe(change.severities) if change.severities else target.severity,
                "mention": target.mention,
                "runbook": alert.runbook,
                "group_labels": dict(target.group_labels),
                "firing": max(change.firing, 0),
                "total": change.total,
                "first_seen": change.first_seen,
                "last_ended_at": change.last_ended,
                "resolved_at": now if change.firing <= 0 else None,
                "created_at": now,
                "updated_at": now,
                "version": 1,
                "rendered_version": 0,
                "next_render_at": now,
                "last_write_key": None,
                "acked_by": None,
                "acked_at": None,
                "incident_id": None,
            }
        )
    stmt = (
        _insert_stmt(session, AlertGroup)
        .on_conflict_do_nothing()
        .returning(AlertGroup.id, AlertGroup.channel, AlertGroup.group_key)
    )
    result = await session.execute(stmt, rows)
    return {(r.channel, r.group_key): r.id for r in result}
