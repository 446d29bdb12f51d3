"""Alert state follows its source: a newer event for the same occurrence updates the stored alert.

A Sentry metric alert escalating warning -> critical, a PagerDuty `incident.priority_updated`, or
Alertmanager/Grafana re-sending a fingerprint with other labels or annotations arrives with the same
identity as the stored occurrence. If its content differs, the stored alert takes the new severity,
labels, annotations, title and summary; its groups re-render (taking the more severe level), routing
is evaluated again (a route it now matches gets it too, and may auto-declare), and a linked incident's
timeline records the change. The same content again is a true duplicate and changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.alerts.alert import Alert
from bot.alerts.groups import GROUPS, MEMBERS, GroupChanges
from bot.alerts.models import AlertRecord
from bot.alerts.routing import Target
from bot.catalog.routing import most_severe
from bot.incidents import api as incidents

if TYPE_CHECKING:
    from bot.alerts.outcome import Outcome

ALERTS: Table = AlertRecord.__table__  # type: ignore[assignment]


@dataclass
class Followed:
    """A stored firing occurrence whose source sent newer content."""

    alert_id: int
    owner: int
    alert: Alert
    targets: list[Target]
    previous_severity: str | None


def _severity(alert: Alert) -> str | None:
    return (alert.severity or "")[:32] or None


async def updated_content(
    session: AsyncSession, candidates: Sequence[tuple[int, int, Alert, list[Target]]]
) -> list[Followed]:
    """Store the new content of each (alert id, owner, alert, targets) that differs from what is stored."""
    if not candidates:
        return []
    c = ALERTS.c
    ids = sorted({alert_id for alert_id, *_ in candidates})
    rows = await session.execute(
        select(c.id, c.severity, c.labels, c.annotations, c.title, c.summary).where(c.id.in_(ids))
    )
    stored = {r.id: r for r in rows}
    followed: list[Followed] = []
    params: list[dict[str, Any]] = []
    for alert_id, owner, alert, targets in candidates:
        row = stored.get(alert_id)
        if row is None:
            continue
        before = (row.severity, dict(row.labels or {}), dict(row.annotations or {}), row.title, row.summary)
        after = (_severity(alert), alert.labels, alert.annotations, alert.title, alert.summary)
        if before == after:
            continue  # a true duplicate
        followed.append(Followed(alert_id, owner, alert, targets, row.severity))
        params.append(
            {
                "b_id": alert_id,
                "b_severity": _severity(alert),
                "b_labels": alert.labels,
                "b_annotations": alert.annotations,
                "b_title": alert.title,
                "b_summary": alert.summary,
                "b_links": alert.links.as_dict(),
            }
        )
    if params:
        await session.execute(_update_statement(), params)
    return followed


@lru_cache(maxsize=1)
def _update_statement() -> Any:
    c = ALERTS.c
    return (
        update(ALERTS)
        .where(c.id == bindparam("b_id"))
        .values(
            severity=bindparam("b_severity"),
            labels=bindparam("b_labels", type_=c.labels.type),
            annotations=bindparam("b_annotations", type_=c.annotations.type),
            title=bindparam("b_title"),
            summary=bindparam("b_summary"),
            links=bindparam("b_links", type_=c.links.type),
        )
    )


async def regroup(
    session: AsyncSession,
    followed: list[Followed],
    changes: GroupChanges,
    outcomes: list[Outcome],
    now: datetime,
) -> None:
    """Re-render the followed alerts' groups, add them to routes they now match, record escalations."""
    if not followed:
        return
    g = GROUPS.c
    rows = await session.execute(
        select(MEMBERS.c.alert_id, g.id, g.channel, g.group_key, g.severity, g.incident_id)
        .join(GROUPS, g.id == MEMBERS.c.group_id)
        .where(MEMBERS.c.alert_id.in_(sorted({f.alert_id for f in followed})), g.resolved_at.is_(None))
    )
    member_of: dict[int, dict[tuple[str, str], Any]] = {}
    for row in rows:
        member_of.setdefault(row.alert_id, {})[(row.channel, row.group_key)] = row
    for f in followed:
        outcome = outcomes[f.owner]
        outcome.updated += 1
        groups = member_of.get(f.alert_id, {})
        for target in f.targets:
            member = groups.get((target.channel, target.group_key))
            if member is None:  # routing now sends it somewhere it was not
                changes.add_alert(f.alert_id, f.owner, f.alert, [target], "firing", None)
                continue
            if target.auto_declare:
                outcome.declare.add(member.id)
            await _touch(session, member.id, most_severe([member.severity, target.severity]), now)
        for row in groups.values():
            outcome.groups.add(row.id)
            outcome.due = now if outcome.due is None else min(outcome.due, now)
            if all((t.channel, t.group_key) != (row.channel, row.group_key) for t in f.targets):
                await _touch(session, row.id, row.severity, now)
            if row.incident_id is not None:
                await _record(session, row.incident_id, f, now)


async def _touch(session: AsyncSession, group_id: int, severity: str, now: datetime) -> None:
    g = GROUPS.c
    await session.execute(
        update(GROUPS)
        .where(g.id == group_id)
        .values(version=g.version + 1, severity=severity, updated_at=now, next_render_at=now)
    )


async def _record(session: AsyncSession, incident_id: int, f: Followed, now: datetime) -> None:
    before, after = f.previous_severity or "none", _severity(f.alert) or "none"
    kind, what = (
        ("alert_escalated", f"{before} → {after}") if before != after else ("alert_updated", "updated")
    )
    await incidents.record_event(
        session,
        incident_id,
        kind=kind,
        text=f"{f.alert.title}: {what}",
        occurred_at=now,
        data={
            "alert_id": f.alert_id,
            "source": f.alert.source,
            "from": f.previous_severity,
            "to": _severity(f.alert),
        },
    )
