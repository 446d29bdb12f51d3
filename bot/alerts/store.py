"""Storing a batch of alerts in one transaction: dedup and resolve in bulk, then grouping (groups.py).

The common case (new firing alerts) costs one INSERT ... ON CONFLICT DO NOTHING for the alerts,
one upsert for their groups and one INSERT for membership. Open occurrences are read (and locked,
by id) only for resolves and for firing alerts that collided with a stored one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, bindparam, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.alerts import follow
from bot.alerts.alert import Alert
from bot.alerts.bulk import AlertRow, BulkWriter
from bot.alerts.bulk_writer import bulk_writer
from bot.alerts.follow import Followed
from bot.alerts.groups import GroupChanges, apply_group_changes
from bot.alerts.models import AlertRecord
from bot.alerts.outcome import Outcome
from bot.alerts.routing import Target
from bot.db.dedup import first_delivery

ALERTS: Table = AlertRecord.__table__  # type: ignore[assignment]
Identity = tuple[str, str, datetime]
OpenKey = tuple[str, str]


@dataclass
class Submission:
    """One request's alerts, each with the groups it goes to."""

    alerts: list[tuple[Alert, list[Target]]]
    delivery_key: str | None = None


@dataclass
class _Insert:
    owner: int
    alert: Alert
    targets: list[Target]
    status: str
    ends_at: datetime | None


@dataclass
class _Plan:
    """What the batch does to occurrences: rows to close (id -> end, owner) and rows to insert."""

    outcomes: list[Outcome]
    state: dict[OpenKey, tuple[int | Identity, datetime]]
    closes: dict[int, tuple[datetime, int]] = field(default_factory=dict)
    inserts: dict[Identity, _Insert] = field(default_factory=dict)

    def close(self, ref: int | Identity, ends: datetime, owner: int) -> None:
        if isinstance(ref, int):
            self.closes[ref] = (ends, owner)
        else:
            planned = self.inserts[ref]
            planned.status, planned.ends_at = "resolved", ends

    def firing(self, owner: int, alert: Alert, targets: list[Target]) -> None:
        key = (alert.source, alert.dedup_key)
        current = self.state.get(key)
        if current is not None:
            if not alert.exact_start or alert.starts_at <= current[1]:
                self.outcomes[owner].duplicates += 1  # a repeat, or a late copy of an older start
                return
            self.close(current[0], alert.starts_at, owner)  # a newer start: the old one ended
        if alert.identity in self.inserts:
            self.outcomes[owner].duplicates += 1
            return
        self.inserts[alert.identity] = _Insert(owner, alert, targets, "firing", None)
        self.state[key] = (alert.identity, alert.starts_at)

    def resolved(self, owner: int, alert: Alert, targets: list[Target], now: datetime) -> None:
        key = (alert.source, alert.dedup_key)
        current = self.state.get(key)
        ends = alert.ends_at or now
        if current is not None:
            ref, start = current
            if alert.exact_start and alert.starts_at < start:
                self.outcomes[owner].duplicates += 1  # a late resolve of an older occurrence
                return
            del self.state[key]
            if not alert.exact_start or alert.starts_at == start:
                self.close(ref, ends, owner)
                return
            self.close(ref, alert.starts_at, owner)  # superseded by the occurrence this resolves
        elif not alert.exact_start:
            self.outcomes[owner].duplicates += 1  # nothing open to resolve: a replay, or never seen
            return
        if alert.identity in self.inserts:
            self.outcomes[owner].duplicates += 1
            return
        self.inserts[alert.identity] = _Insert(owner, alert, targets, "resolved", ends)


async def store_batch(
    session: AsyncSession, batch: list[Submission], now: datetime, writer: BulkWriter | None = None
) -> list[Outcome]:
    """Store every submission in `session`'s transaction; one Outcome per submission, in order.

    `writer` runs the bulk statements; by default, the one for the driver connection behind `session`.
    """
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

    resolving = {(a.source, a.dedup_key) for _, a, _ in items if a.status == "resolved"}
    plan = _Plan(outcomes, dict(await _lock_open(session, resolving)))
    for owner, alert, targets in items:
        if alert.status == "firing":
            plan.firing(owner, alert, targets)
        else:
            plan.resolved(owner, alert, targets, now)
    # Close before inserting: a newer occurrence can only be inserted once the old one is not open.
    await _close(session, plan.closes, now)
    writer = writer or await bulk_writer(session)
    new_ids = await _insert(writer, plan.inserts.values(), now)
    collided = [(i, p) for i, p in plan.inserts.items() if i not in new_ids and p.alert.status == "firing"]
    followed: list[Followed] = []
    if collided:
        settled, followed = await _settle_collisions(session, writer, plan, collided, now)
        new_ids.update(settled)
    changes = GroupChanges()
    for identity, planned in plan.inserts.items():
        outcome = outcomes[planned.owner]
        alert_id = new_ids.get(identity)
        if alert_id is None:
            if not any(f.alert is planned.alert for f in followed):
                outcome.duplicates += 1
            continue
        outcome.stored += 1
        if planned.status == "resolved" and planned.alert.status == "firing":
            outcome.resolved += 1  # fired and resolved within this batch
        if not planned.targets:
            outcome.unrouted += 1
        changes.add_alert(
            alert_id, planned.owner, planned.alert, planned.targets, planned.status, planned.ends_at
        )
    for alert_id, (ends, owner) in plan.closes.items():
        outcomes[owner].resolved += 1
        changes.close_alert(alert_id, owner, ends)
    await follow.regroup(session, followed, changes, outcomes, now)
    await apply_group_changes(session, writer, changes, outcomes, now)
    return outcomes


async def _lock_open(session: AsyncSession, keys: Iterable[OpenKey]) -> dict[OpenKey, tuple[int, datetime]]:
    """The open occurrence of each (source, dedup_key), locked (in id order) for this transaction."""
    by_source: dict[str, set[str]] = defaultdict(set)
    for source, dedup_key in keys:
        by_source[source].add(dedup_key)
    if not by_source:
        return {}
    clauses: list[ColumnElement[bool]] = [
        and_(ALERTS.c.source == source, ALERTS.c.dedup_key.in_(sorted(dedup_keys)))
        for source, dedup_keys in sorted(by_source.items())
    ]
    rows = await session.execute(
        select(ALERTS.c.id, ALERTS.c.source, ALERTS.c.dedup_key, ALERTS.c.starts_at)
        .where(ALERTS.c.status == "firing", or_(*clauses))
        .order_by(ALERTS.c.id)
        .with_for_update()
    )
    return {(r.source, r.dedup_key): (r.id, r.starts_at) for r in rows}


async def _settle_collisions(
    session: AsyncSession,
    writer: BulkWriter,
    plan: _Plan,
    collided: list[tuple[Identity, _Insert]],
    now: datetime,
) -> tuple[dict[Identity, int], list[Followed]]:
    """Firing alerts that hit a stored row: a newer start supersedes the open occurrence; the same
    occurrence with new content updates it (follow.py); anything else is a duplicate."""
    open_rows = await _lock_open(session, {(i[0], i[1]) for i, _ in collided})
    superseded: dict[int, tuple[datetime, int]] = {}
    retry: list[_Insert] = []
    same: list[tuple[int, int, Alert, list[Target]]] = []
    for identity, planned in collided:
        current = open_rows.get((identity[0], identity[1]))
        if current is not None and planned.alert.exact_start and planned.alert.starts_at > current[1]:
            superseded[current[0]] = (planned.alert.starts_at, planned.owner)
            retry.append(planned)
        elif current is not None and (not planned.alert.exact_start or planned.alert.starts_at == current[1]):
            same.append((current[0], planned.owner, planned.alert, planned.targets))
    followed = await follow.updated_content(session, same)
    if not retry:
        return {}, followed
    await _close(session, superseded, now)
    plan.closes.update(superseded)
    return await _insert(writer, retry, now), followed


async def _close(session: AsyncSession, closes: dict[int, tuple[datetime, int]], now: datetime) -> None:
    """Mark occurrences resolved with their end times (one executemany)."""
    if not closes:
        return
    params = [
        {"b_id": alert_id, "b_ends": ends, "b_now": now} for alert_id, (ends, _) in sorted(closes.items())
    ]
    await session.execute(_close_statement(), params)


@lru_cache(maxsize=1)
def _close_statement() -> Any:
    """Resolve the occurrence b_id at b_ends."""
    c = ALERTS.c
    return (
        update(ALERTS)
        .where(c.id == bindparam("b_id"))
        .values(
            status="resolved",
            ends_at=bindparam("b_ends", type_=c.ends_at.type),
            updated_at=bindparam("b_now", type_=c.updated_at.type),
        )
    )


async def _insert(writer: BulkWriter, planned: Iterable[_Insert], now: datetime) -> dict[Identity, int]:
    """INSERT ... ON CONFLICT DO NOTHING in identity order; the ids of the rows actually inserted."""
    rows = [
        AlertRow(
            alert.source,
            alert.dedup_key,
            alert.starts_at,
            plan.status,
            plan.ends_at,
            now,
            now,
            alert.title,
            alert.summary,
            alert.service,
            (alert.severity or "")[:32] or None,
            (alert.env or "")[:64] or None,
            alert.runbook,
            alert.labels,
            alert.annotations,
            alert.links.as_dict(),
        )
        for plan in sorted(planned, key=_identity_order)
        for alert in (plan.alert,)
    ]
    if not rows:
        return {}
    return await writer.insert_alerts(rows)


def _identity_order(plan: _Insert) -> tuple[str, str, float]:
    # One lock order for every transaction, so concurrent PostgreSQL batches do not deadlock.
    return (plan.alert.source, plan.alert.dedup_key, plan.alert.starts_at.timestamp())
