"""Group bookkeeping for a stored batch: one upsert for the groups new alerts join, one UPDATE for resolves.

A group is open while any member fires; the partial unique index on (channel, group_key) for open
groups makes concurrent instances join the same open group, and a firing alert after the group
closed opens a new one (a new message).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Integer, Table, bindparam, case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.alerts.alert import Alert
from bot.alerts.bulk import BulkWriter, GroupRow, string_map_json
from bot.alerts.models import AlertGroup, AlertGroupMember
from bot.alerts.outcome import Outcome
from bot.alerts.routing import Target
from bot.catalog.routing import most_severe

GROUPS: Table = AlertGroup.__table__  # type: ignore[assignment]
MEMBERS: Table = AlertGroupMember.__table__  # type: ignore[assignment]
GroupKey = tuple[str, str]  # (channel, group_key)


@dataclass
class _Joining:
    """New alerts joining the open group (channel, group_key)."""

    template: tuple[Alert, Target]
    firing: int = 0
    total: int = 0
    severities: list[str] = field(default_factory=list)
    first_seen: datetime | None = None
    last_ended: datetime | None = None
    members: list[int] = field(default_factory=list)
    owners: set[int] = field(default_factory=set)
    declare_owners: set[int] = field(default_factory=set)


@dataclass
class GroupChanges:
    """What a batch does to groups: alerts joining them, and member alerts that resolved."""

    joining: dict[GroupKey, _Joining] = field(default_factory=dict)
    closed: dict[int, tuple[datetime, int]] = field(default_factory=dict)  # alert id -> (end, owner)

    def add_alert(
        self,
        alert_id: int,
        owner: int,
        alert: Alert,
        targets: list[Target],
        status: str,
        ends_at: datetime | None,
    ) -> None:
        """A newly stored occurrence joins the group of each of its targets."""
        for target in targets:
            key = (target.channel, target.group_key)
            joining = self.joining.get(key)
            if joining is None:
                joining = self.joining[key] = _Joining((alert, target))
            joining.total += 1
            joining.members.append(alert_id)
            joining.owners.add(owner)
            joining.severities.append(target.severity)
            start = alert.starts_at
            joining.first_seen = start if joining.first_seen is None else min(joining.first_seen, start)
            if status == "firing":
                joining.firing += 1
                if target.auto_declare:
                    joining.declare_owners.add(owner)
            elif ends_at is not None:
                joining.last_ended = (
                    ends_at if joining.last_ended is None else max(joining.last_ended, ends_at)
                )

    def close_alert(self, alert_id: int, owner: int, ends_at: datetime) -> None:
        """A stored firing occurrence resolved."""
        self.closed[alert_id] = (ends_at, owner)


async def apply_group_changes(
    session: AsyncSession, writer: BulkWriter, changes: GroupChanges, outcomes: list[Outcome], now: datetime
) -> None:
    """Upsert joined groups, add memberships, and count resolves down (closing emptied groups)."""
    if changes.joining:
        joined = await _upsert(session, writer, changes.joining, now)
        members: list[tuple[int, int]] = []
        for key, (group_id, next_render_at) in sorted(joined.items(), key=lambda kv: kv[1][0]):
            joining = changes.joining[key]
            members.extend((group_id, a) for a in joining.members)
            for owner in joining.owners:
                _credit(outcomes[owner], group_id, next_render_at)
            for owner in joining.declare_owners:
                outcomes[owner].declare.add(group_id)
        await writer.insert_members(members)
    if changes.closed:
        await _count_down(session, changes.closed, outcomes, now)


def _credit(outcome: Outcome, group_id: int, due: datetime) -> None:
    outcome.groups.add(group_id)
    outcome.due = due if outcome.due is None else min(outcome.due, due)


@lru_cache(maxsize=1)
def _count_down_statement() -> Any:
    """Lower group b_id's firing count by b_n, resolving it when none fire any more."""
    g = GROUPS.c
    ts = g.updated_at.type
    ends = bindparam("b_ends", type_=ts)
    stamp = bindparam("b_now", type_=ts)
    count = bindparam("b_n", type_=Integer())
    return (
        update(GROUPS)
        .where(g.id == bindparam("b_id"))
        .values(
            firing=g.firing - count,
            version=g.version + 1,
            updated_at=stamp,
            last_ended_at=case(
                (g.last_ended_at.is_(None), ends), (g.last_ended_at < ends, ends), else_=g.last_ended_at
            ),
            resolved_at=case(
                (g.firing - count <= 0, func.coalesce(g.resolved_at, stamp)), else_=g.resolved_at
            ),
        )
    )


async def _upsert(
    session: AsyncSession, writer: BulkWriter, joining: dict[GroupKey, _Joining], now: datetime
) -> dict[GroupKey, tuple[int, datetime]]:
    """Insert each group, or add to the open one with its key; (id, next_render_at) per key."""
    rows = []
    for (channel, group_key), change in sorted(joining.items()):
        alert, target = change.template
        assert change.first_seen is not None
        rows.append(
            GroupRow(
                channel=channel,
                group_key=group_key,
                route=target.route[:100],
                source=alert.source,
                title=alert.title,
                service=alert.service,
                env=(alert.env or "")[:64] or None,
                severity=most_severe(change.severities),
                mention=target.mention,
                runbook=alert.runbook,
                group_labels=string_map_json(dict(target.group_labels)),
                firing=change.firing,
                total=change.total,
                first_seen=change.first_seen,
                last_ended_at=change.last_ended,
                created_at=now,
                updated_at=now,
                next_render_at=now,
            )
        )
    result = await writer.upsert_groups(rows)
    g = GROUPS.c
    empty = sorted(r.id for r in result if r.firing <= 0)
    if empty:  # new groups of alerts that arrived already resolved
        await session.execute(
            update(GROUPS).where(g.id.in_(empty), g.resolved_at.is_(None)).values(resolved_at=now)
        )
    return {(r.channel, r.group_key): (r.id, r.next_render_at) for r in result}


async def _count_down(
    session: AsyncSession, closed: dict[int, tuple[datetime, int]], outcomes: list[Outcome], now: datetime
) -> None:
    """Each resolved member lowers its groups' firing count; a group reaching zero is resolved."""
    rows = await session.execute(
        select(MEMBERS.c.group_id, MEMBERS.c.alert_id).where(MEMBERS.c.alert_id.in_(sorted(closed)))
    )
    per_group: dict[int, list[tuple[datetime, int]]] = defaultdict(list)
    for group_id, alert_id in rows:
        per_group[group_id].append(closed[alert_id])
    if not per_group:
        return
    params = []
    for group_id in sorted(per_group):
        entries = per_group[group_id]
        params.append(
            {"b_id": group_id, "b_n": len(entries), "b_ends": max(e for e, _ in entries), "b_now": now}
        )
        for _, owner in entries:
            _credit(outcomes[owner], group_id, now)
    await session.execute(_count_down_statement(), params)
