"""A vendor's "send a test notification": answered 200 "test received" and confirmed in Slack.

Nothing is stored. The test alert is routed like a real one, and each channel it would reach gets a
short "test notification from <source> received", so whoever sets up the integration sees it work.
"""

from __future__ import annotations

from aiohttp import web

from bot.alerts.alert import Parsed
from bot.alerts.routing import Router
from bot.container import Container
from bot.slack.escape import escape
from bot.slack.outbox import enqueue, post_message

NAMES = {
    "alertmanager": "Alertmanager",
    "grafana": "Grafana",
    "gcp_monitoring": "Cloud Monitoring",
    "sentry": "Sentry",
    "pagerduty": "PagerDuty",
    "generic": "the generic webhook",
}


async def test_received(c: Container, router: Router, source: str, parsed: Parsed) -> web.Response:
    """Post the confirmation in every channel the test alert routes to; answer 200."""
    channels = list(dict.fromkeys(t.channel for a in parsed.alerts for t in router.targets(a)))
    name = NAMES.get(source, source)
    text = (
        f":test_tube: Test notification from {escape(name)} received: alerts from it are routed here "
        f"(`{escape(parsed.alerts[0].title)[:100]}`)."
        if parsed.alerts
        else f":test_tube: Test notification from {escape(name)} received."
    )
    async with c.transaction() as session:
        for channel in channels:
            await enqueue(session, post_message(channel, text=text))
    return web.json_response({"status": "test received", "source": source, "channels": channels})
