"""Which listeners and routes the app has. Each feature adds its entry here (tick jobs: tick_jobs.py)."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from aiohttp import web
from slack_bolt.async_app import AsyncApp

from bot.catalog import Catalog
from bot.container import Container
from bot.deploys.config import config_check as deploys_config_check
from bot.deploys.watcher import watch_loop as watch_deploys_loop
from bot.incidents import delivery as incident_delivery
from bot.paging.config import config_check as paging_config_check
from bot.paging.service import run_pager
from bot.rollback import recovery as rollback_recovery
from bot.rollback import unposted as rollback_unposted
from bot.slack.dispatcher import ChannelHook
from bot.slack.failures import FailureHook
from handlers import (
    alert_actions,
    api,
    console,
    deploy_actions,
    events,
    gate_api,
    health,
    incident_actions,
    incident_channel,
    incident_views,
    mentions,
    postmortem,
    rollback_actions,
    routes_cli,
    runbook_actions,
    silence_actions,
    tasks,
    webhooks,
)
from handlers.commands import deploy, incident
from handlers.commands import health as health_command
from handlers.commands import rollback as rollback_command
from handlers.commands import runbook as runbook_command
from handlers.webhooks import deploy as deploy_webhook
from runbooks import recovery as runbook_recovery
from runbooks.loader import config_check as runbook_config_check

BOLT_LISTENERS: list[Callable[[AsyncApp, Container], None]] = [
    incident.register,
    incident_actions.register,
    incident_channel.register,
    incident_views.register,
    postmortem.register,
    events.register,
    alert_actions.register,
    deploy.register,
    rollback_command.register,
    health_command.register,
    rollback_actions.register,
    runbook_command.register,
    runbook_actions.register,
    deploy_actions.register,
    mentions.register,
    silence_actions.register,
]

HTTP_ROUTES: list[Callable[[web.Application], None]] = [
    health.add_routes,
    tasks.add_routes,
    api.add_routes,
    postmortem.add_routes,
    webhooks.add_routes,
    deploy_webhook.add_routes,
    console.add_routes,
    gate_api.add_routes,
]

# Long-running coroutines started with the app and cancelled at shutdown (e.g. the tick timer).
BACKGROUND: list[Callable[[Container], Coroutine[Any, Any, None]]] = [
    tasks.tick_timer,
    rollback_recovery.on_start,
    rollback_unposted.watch,
    runbook_recovery.on_start,
    watch_deploys_loop,
    run_pager,
]

# Extra validation run by `flare check-config` (runbooks, routes): (catalog, path) -> problems.
CONFIG_CHECKS: list[Callable[[Catalog, Path], list[str]]] = [
    runbook_config_check,
    deploys_config_check,
    paging_config_check,
]

# Extra `flare` subcommands: each adds a subparser with set_defaults(func=...).
CLI_COMMANDS: list[Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None]] = [
    routes_cli.add_command,
    postmortem.add_command,
]

# Run when the outbox gives up on an item (after telling whoever caused it): record it where it belongs.
DELIVERY_FAILURE_HOOKS: list[Callable[[Container], FailureHook]] = [incident_delivery.failure_hook]

# Run when the outbox creates a channel: (session, reference key, Slack's answer).
CHANNEL_CREATED_HOOKS: list[ChannelHook] = [incident_delivery.channel_created]
