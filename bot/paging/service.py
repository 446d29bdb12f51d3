"""Starting the page worker with the app, and the secrets it must never log."""

from __future__ import annotations

from bot.catalog import Catalog
from bot.container import Container
from bot.observability.logging import register_secrets
from bot.paging.client import EVENT_TIMEOUT_SECONDS, HttpPagerDuty
from bot.paging.queue import WAKE_KEY
from bot.paging.worker import PageWorker, WorkerConfig
from bot.settings import environment


def secret_env_names(catalog: Catalog) -> list[str]:
    """The variables that hold PagerDuty secrets (routing keys and API tokens)."""
    names: list[str] = []
    for team in catalog.teams.values():
        if team.pagerduty is not None:
            names.append(team.pagerduty.routing_key_env)
            if team.pagerduty.api_token_env:
                names.append(team.pagerduty.api_token_env)
    return names


def gateway(c: Container) -> HttpPagerDuty:
    """PagerDuty on the app's HTTP session, at the configured URLs; a send ends before its lease."""
    timeout = min(EVENT_TIMEOUT_SECONDS, c.settings.flare_outbox_lease_seconds * 0.75)
    return HttpPagerDuty(
        c.http, c.settings.pagerduty_events_url, c.settings.pagerduty_api_url, event_timeout=timeout
    )


def make_worker(c: Container) -> PageWorker:
    """A page worker configured from the settings."""
    config = WorkerConfig(
        lease_seconds=c.settings.flare_outbox_lease_seconds,
        max_backoff=c.settings.flare_page_max_backoff_seconds,
        alert_after=c.settings.flare_page_alert_after_seconds,
    )
    return PageWorker(c, gateway(c), config)


async def run_pager(c: Container) -> None:
    """The background page worker (a BACKGROUND entry): runs until the app stops."""
    env = environment()
    register_secrets(env[name] for name in secret_env_names(c.catalog) if env.get(name))
    worker = make_worker(c)
    c.wakers[WAKE_KEY] = worker.wake
    try:
        await worker.run()
    finally:
        c.wakers.pop(WAKE_KEY, None)
        await worker.stop()
