"""The browser story's data: history written to the database, and one P1 driven through Slack commands."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.conftest import Flare
from tests.console import seed
from tests.fakes.slack import FakeSlack
from tests.postmortem.helpers import command, declare
from tests.support.waits import settle

P1_TITLE = "Payments declined for EU cards"


async def history(flare: Flare) -> None:
    """Eight weeks of incidents, checkout and search deploys, a rollback, and what serves now."""
    now = datetime.now(UTC)
    async with flare.container.transaction() as session:
        await seed.incidents(session, 60, now - timedelta(days=1), span=timedelta(days=56))
        await seed.deploys(session, 160, now, span=timedelta(days=56))
        await seed.deploys(session, 40, now, span=timedelta(days=56), service="search")
        await seed.rollback(session, 1, now - timedelta(days=9))
        await seed.rollback(session, 2, now - timedelta(days=20))
        await seed.watch_state(
            session, "checkout", "production", {"checkout-00159": 90, "checkout-00158": 10}, now
        )
        await seed.watch_state(session, "search", "production", {"search-00039": 100}, now)


async def p1_with_two_drafts(flare: Flare, fake: FakeSlack) -> tuple[int, str]:
    """Declare the P1 in Slack, note a root cause, draft v1, post an update, resolve, draft v2."""
    channel = await declare(flare, fake, f"P1 {P1_TITLE} --service checkout")
    await command(flare, "assign commander <@U0BOB0001>", channel=channel)
    await command(flare, "note root cause: the card-network certificate expired", channel=channel)
    await command(flare, "postmortem", channel=channel)
    await command(flare, "update Rotated the certificate; declines back to baseline", channel=channel)
    await command(flare, "resolve certificate rotated, payments flowing", channel=channel)
    await command(flare, "postmortem", channel=channel)
    await settle(flare)
    async with flare.container.db.sessions() as session:
        from sqlalchemy import func, select

        from bot.incidents.models import Incident

        newest = (await session.execute(select(func.max(Incident.id)))).scalar_one()
    return int(newest), channel
