"""Whether a request's work reached COMMIT: what a late answer may honestly promise."""

from __future__ import annotations

import contextvars
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine


@dataclass
class CommitWatch:
    """Set by the engine when a COMMIT is sent on behalf of the watching request."""

    started: bool = False


current_watch: contextvars.ContextVar[CommitWatch | None] = contextvars.ContextVar(
    "flare_commit_watch", default=None
)


def _on_commit(_conn: Any) -> None:
    watch = current_watch.get()
    if watch is not None:
        watch.started = True


def watch_commits(engine: AsyncEngine) -> None:
    """Record COMMITs on `engine` in the current request's CommitWatch (when there is one)."""
    event.listen(engine.sync_engine, "commit", _on_commit)
