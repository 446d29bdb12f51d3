"""Which listeners and routes the app has. Each feature adds its entry here."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from aiohttp import web
from slack_bolt.async_app import AsyncApp

from bot.catalog import Catalog
from bot.container import Container
from handlers import health
from handlers.commands import incident

BOLT_LISTENERS: list[Callable[[AsyncApp, Container], None]] = [
    incident.register,
]

HTTP_ROUTES: list[Callable[[web.Application], None]] = [
    health.add_routes,
]

# Long-running coroutines started with the app and cancelled at shutdown (e.g. the tick timer).
BACKGROUND: list[Callable[[Container], Coroutine[Any, Any, None]]] = []

# Extra validation run by `flare check-config` (runbooks, routes): (catalog, path) -> problems.
CONFIG_CHECKS: list[Callable[[Catalog, Path], list[str]]] = []

# Extra `flare` subcommands: each adds a subparser with set_defaults(func=...).
CLI_COMMANDS: list[Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None]] = []
