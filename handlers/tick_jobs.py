"""Jobs run by every tick (POST /tasks/tick and the in-process timer). A feature adds its job here.

Each job must be safe when several instances tick at once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.alerts.actions import link_open_groups, publish_groups
from bot.container import Container
from bot.deploys.watcher import tick as watch_deploys
from bot.incidents.capture import enrich_pending
from bot.incidents.reminders import send_due_reminders, sync_channels
from bot.people.directory import refresh as refresh_people
from bot.rollback import recovery as rollback_recovery
from bot.silences.groups import expire_resolved as expire_resolved_silences
from runbooks import recovery as runbook_recovery

TICK_JOBS: list[Callable[[Container], Awaitable[None]]] = [
    sync_channels,
    send_due_reminders,
    enrich_pending,
    link_open_groups,
    publish_groups,
    rollback_recovery.tick,
    runbook_recovery.tick,
    watch_deploys,
    expire_resolved_silences,
    refresh_people,
]
