"""Shared benchmark plumbing: figures, statistics, and re-exports of the server/fake helpers."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tests.fakes.slack import BOT_TOKEN, FakeSlack
from tests.support.process import CATALOG, ServerProcess, free_port, server_env, start_server
from tests.support.slack_client import SIGNING_SECRET, SlackClient

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Figure:
    """One measured figure: what, the median over runs, the target, and whether it is met."""

    bench: str
    what: str
    value: float
    unit: str
    target: str = ""
    ok: bool | None = None
    runs: list[float] = field(default_factory=list)
    note: str = ""


def median(values: Sequence[float]) -> float:
    """The median (0 for no values)."""
    return statistics.median(values) if values else 0.0


def percentile(values: Sequence[float], pct: float) -> float:
    """The pct-th percentile by nearest rank."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-pct * len(ordered) // 100))))
    return ordered[rank - 1]


def sqlite_url(workdir: Path) -> str:
    """An SQLite URL inside `workdir`."""
    return f"sqlite+aiosqlite:///{workdir / 'flare.db'}"


__all__ = [
    "BOT_TOKEN",
    "CATALOG",
    "ROOT",
    "SIGNING_SECRET",
    "FakeSlack",
    "Figure",
    "ServerProcess",
    "SlackClient",
    "free_port",
    "median",
    "percentile",
    "server_env",
    "sqlite_url",
    "start_server",
]
