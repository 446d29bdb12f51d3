"""Fill a Flare database with demo data for the console: `python -m tests.console.demo [DATABASE_URL]`.

Eight weeks of incident history, last month's P1 ("Payments declined for EU cards") with its timeline,
an action item and two post-mortem versions (rendered by Flare's own renderer), checkout and search
deploys, two rollbacks and what serves now. The README's Console section uses it with the fake Slack.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, insert, select, update

from bot.db import migrate
from bot.db.engine import Database
from bot.incidents.models import ActionItem, Incident, IncidentEvent
from bot.postmortem.models import PostmortemDraft
from bot.postmortem.service import render_current
from tests.console import seed

TITLE = "Payments declined for EU cards"


async def _draft(db: Database, incident_id: int, version: int, at: datetime) -> None:
    async with db.transaction() as session:
        incident = (await session.execute(select(Incident).where(Incident.id == incident_id))).scalar_one()
        markdown, count = await render_current(session, incident, workspace_url="https://acme.slack.com")
        session.add(
            PostmortemDraft(
                incident_id=incident_id,
                version=version,
                markdown=markdown,
                sha256=hashlib.sha256(markdown.encode()).hexdigest(),
                event_count=count,
                generated_by="U0BOB0001",
                trigger="command",
                created_at=at,
            )
        )


def _event(incident_id: int, n: int, at: datetime, kind: str, text: str, actor: str) -> dict[str, object]:
    return {
        "incident_id": incident_id,
        "kind": kind,
        "text": text,
        "actor": actor,
        "occurred_at": at,
        "recorded_at": at,
        "data": {},
        "dedup_key": f"demo-{n}",
    }


async def fill(url: str) -> int:
    """Write the demo data; the id of last month's P1."""
    now = datetime.now(UTC)
    db = Database(url, pool_size=1)
    try:
        async with db.transaction() as session:
            await seed.incidents(session, 60, now - timedelta(days=1), span=timedelta(days=56))
            await seed.deploys(session, 160, now, span=timedelta(days=56))
            await seed.deploys(session, 40, now, span=timedelta(days=56), service="search")
            await seed.rollback(session, 1, now - timedelta(days=9))
            await seed.rollback(session, 2, now - timedelta(days=31, hours=-1))
            await seed.watch_state(session, "checkout", "production", {"checkout-00159": 100}, now)
            await seed.watch_state(session, "search", "production", {"search-00039": 100}, now)
            at = now - timedelta(days=31)
            await session.execute(
                insert(Incident),
                [
                    seed.incident_row(
                        0,
                        at,
                        title=TITLE,
                        severity="P1",
                        service="checkout",
                        description="Card payments from EU issuers are declined at checkout.",
                        channel_name=f"inc-{at:%Y%m%d}-payments-declined-for-eu-cards",
                        channel_id="C0DEMO0001",
                        commander="U0BOB0001",
                        comms="U0CAROL01",
                        status="mitigated",
                        resolved_at=None,
                        resolved_by=None,
                        mitigated_at=at + timedelta(minutes=40),
                        mitigated_by="U0BOB0001",
                    )
                ],
            )
            incident_id = int((await session.execute(select(func.max(Incident.id)))).scalar_one())
            steps = [
                (0, "declared", f"Declared P1: {TITLE}", "U0ALICE01"),
                (2, "role_assigned", "commander: U0BOB0001", "U0ALICE01"),
                (3, "acknowledged", "Acknowledged", "U0BOB0001"),
                (
                    12,
                    "note",
                    "root cause: the card-network client certificate expired at 09:00 UTC",
                    "U0BOB0001",
                ),
                (25, "update", "Rotating the certificate on all checkout instances", "U0CAROL01"),
                (40, "status_changed", "acknowledged → mitigated: new certificate live", "U0BOB0001"),
            ]
            await session.execute(
                insert(IncidentEvent),
                [
                    _event(incident_id, n, at + timedelta(minutes=m), k, t, a)
                    for n, (m, k, t, a) in enumerate(steps)
                ],
            )
            session.add(
                ActionItem(
                    incident_id=incident_id,
                    text="Alert 14 days before any certificate expires",
                    owner="U0CAROL01",
                    created_by="U0BOB0001",
                    created_at=at + timedelta(minutes=45),
                )
            )
        await _draft(db, incident_id, 1, at + timedelta(minutes=50))
        async with db.transaction() as session:
            resolved = at + timedelta(minutes=95)
            await session.execute(
                update(Incident)
                .where(Incident.id == incident_id)
                .values(
                    status="resolved",
                    resolved_at=resolved,
                    resolved_by="U0BOB0001",
                    summary="Certificate rotated; declines back to baseline.",
                )
            )
            await session.execute(
                insert(IncidentEvent),
                [
                    _event(
                        incident_id,
                        90,
                        resolved,
                        "status_changed",
                        "mitigated → resolved: declines back to baseline",
                        "U0BOB0001",
                    )
                ],
            )
        await _draft(db, incident_id, 2, at + timedelta(minutes=100))
        return incident_id
    finally:
        await db.close()


def main() -> None:
    """Migrate the database if needed and fill it."""
    parser = argparse.ArgumentParser(description="Fill a Flare database with demo data for the console.")
    parser.add_argument("database_url", nargs="?", default="sqlite+aiosqlite:///./flare.db")
    url = parser.parse_args().database_url
    migrate.upgrade(url)
    incident_id = asyncio.run(fill(url))
    print(f"Demo data written; last month's P1 is INC-{incident_id} ({TITLE}), with post-mortem v1 and v2.")


if __name__ == "__main__":
    main()
