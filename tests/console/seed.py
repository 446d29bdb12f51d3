"""Test data for the console: incident history, deploys, rollbacks, watcher state, long timelines.

Rows are written into the migrated database the way Flare stores them (the flows that make them are
tested elsewhere); the browser story's own incident is declared through Slack commands instead.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.deploys.models import Deploy, WatchState
from bot.incidents.models import Incident, IncidentEvent
from bot.rollback.models import Rollback

SEVERITIES = ("P0", "P1", "P2", "P3")
SERVICES = ("checkout", "search")


def incident_row(n: int, at: datetime, **overrides: Any) -> dict[str, Any]:
    """Values of a resolved incident declared at `at`."""
    values: dict[str, Any] = {
        "title": f"Incident number {n}: elevated error rate",
        "description": "",
        "severity": SEVERITIES[n % 4],
        "status": "resolved",
        "service": SERVICES[n % 2],
        "commander": "U0BOB0001",
        "declared_by": "U0ALICE01",
        "source": "slack",
        "channel_name": f"inc-{at:%Y%m%d}-{n}-elevated-error-rate",
        "channel_id": f"C0HIST{n:05d}",
        "declared_at": at,
        "acknowledged_at": at + timedelta(minutes=3),
        "resolved_at": at + timedelta(minutes=30 + n % 90),
        "resolved_by": "U0BOB0001",
        "last_update_at": at,
        "updated_at": at,
    }
    values.update(overrides)
    return values


async def incidents(session: AsyncSession, count: int, now: datetime, *, span: timedelta) -> None:
    """`count` resolved incidents spread evenly over the `span` before `now` (ids in declaration order)."""
    step = span / max(count, 1)
    rows = [incident_row(n, now - span + step * n) for n in range(count)]
    for start in range(0, len(rows), 1000):
        await session.execute(insert(Incident), rows[start : start + 1000])


async def deploys(
    session: AsyncSession, count: int, now: datetime, *, span: timedelta, service: str = "checkout"
) -> None:
    """`count` succeeded deploys of `service` in production spread over the `span` before `now`."""
    step = span / max(count, 1)
    rows = []
    for n in range(count):
        at = now - span + step * n
        rows.append(
            {
                "kind": "deploy",
                "service": service,
                "env": "production",
                "key": f"{service}-deploy-{n}",
                "source": "pipeline",
                "status": "succeeded",
                "revision": f"{service}-{n:05d}",
                "commit_sha": f"{n:040x}",
                "author": "alice@acme.test",
                "started_at": at,
                "finished_at": at + timedelta(minutes=2),
                "created_at": at,
                "updated_at": at,
            }
        )
    for start in range(0, len(rows), 1000):
        await session.execute(insert(Deploy), rows[start : start + 1000])


async def rollback(session: AsyncSession, n: int, at: datetime, *, service: str = "checkout") -> None:
    """A rollback of `service` in production that ran at `at`."""
    await session.execute(
        insert(Rollback),
        [
            {
                "request_key": f"seed-rollback-{n}",
                "kind": "rollback",
                "service": service,
                "env": "production",
                "channel_id": "C0PAYMENTS",
                "requested_by": "U0BOB0001",
                "confirmed_by": "U0BOB0001",
                "request": {},
                "status": "succeeded",
                "created_at": at,
                "started_at": at,
                "finished_at": at + timedelta(minutes=1),
            }
        ],
    )


async def watch_state(
    session: AsyncSession, service: str, env: str, serving: dict[str, int], at: datetime
) -> None:
    """What the watcher last saw of `service` in `env`."""
    await session.execute(
        insert(WatchState),
        [
            {
                "service": service,
                "env": env,
                "state": {
                    "serving": serving,
                    "seen_until": at.isoformat(),
                    "pending": {},
                    "latest_created": None,
                },
                "version": 1,
                "next_poll_at": at + timedelta(minutes=1),
                "polled_at": at,
            }
        ],
    )


async def timeline(session: AsyncSession, incident_id: int, count: int, start: datetime) -> None:
    """`count` note events on an incident, one a second from `start`, some with links."""
    rows = []
    for n in range(count):
        data: dict[str, Any] = {}
        kind, text = "note", f"Note {n}: checked the <dashboard> & saw error rate at {n % 100}%"
        if n % 10 == 0:
            data = {"permalink": f"https://acme-flare.slack.com/archives/C0HIST00001/p{1700000000000000 + n}"}
        elif n % 10 == 5:  # an alert of a linked group: its message key is looked up, its URL linked
            kind, text = "alert_fired", f"Fired: CheckoutErrors {n}"
            data = {"alert_id": n, "group_id": 1, "url": f"https://prometheus.acme.test/graph?g0.expr=a{n}"}
        rows.append(
            {
                "incident_id": incident_id,
                "kind": kind,
                "text": text,
                "actor": "U0BOB0001",
                "occurred_at": start + timedelta(seconds=n),
                "recorded_at": start + timedelta(seconds=n),
                "data": data,
                "dedup_key": f"seed-note-{n}",
            }
        )
    for chunk in range(0, len(rows), 1000):
        await session.execute(insert(IncidentEvent), rows[chunk : chunk + 1000])
