"""Gauges computed from the database when /metrics is scraped: the entry point composes the domains."""

from __future__ import annotations

from bot.catalog import SEVERITY_ORDER
from bot.container import Container
from bot.deploys.stats import refresh_gauges as refresh_delivery_gauges
from bot.incidents.queries import open_counts
from bot.slack.stats import pending_stats


async def refresh_gauges(c: Container) -> None:
    """Update gauges that reflect stored state (outbox backlog, open incidents)."""
    count, oldest = await pending_stats(c.db, c.clock.now())
    c.metrics.outbox_pending.set(count)
    c.metrics.outbox_oldest_age.set(oldest)
    async with c.db.sessions() as session:
        open_incidents = await open_counts(session)
    for severity in SEVERITY_ORDER:
        c.metrics.incidents_open.labels(severity).set(open_incidents.get(severity, 0))
    await refresh_delivery_gauges(c)
