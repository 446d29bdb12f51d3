"""Helpers for the runbook tests."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from sqlalchemy import select

from runbooks.models import RunbookRun, RunbookStepResult
from tests.conftest import Flare
from tests.support.waits import wait_for_status


def write_runbook(catalog_path: Path, name: str, text: str) -> Path:
    """Put a runbook file in `runbooks/` beside the catalog."""
    folder = catalog_path.parent / "runbooks"
    folder.mkdir(exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(text)
    return path


async def run_row(flare: Flare, run_id: int = 1) -> RunbookRun:
    """A run, fresh from the database."""
    async with flare.container.db.sessions() as session:
        run = await session.get(RunbookRun, run_id)
    assert run is not None, f"run #{run_id} not stored"
    return run


async def wait_run(
    flare: Flare, run_id: int, statuses: str | tuple[str, ...], timeout: float = 15.0
) -> RunbookRun:
    """Wait until the run reaches one of `statuses`, then let the outbox deliver."""
    return await wait_for_status(flare, RunbookRun, run_id, statuses, what="run", timeout=timeout)


async def wait_position(flare: Flare, run_id: int, position: int, timeout: float = 10.0) -> None:
    """Wait until the run has recorded `position` steps."""
    deadline = time.monotonic() + timeout
    while (await run_row(flare, run_id)).position < position:
        if time.monotonic() > deadline:
            raise AssertionError(f"run #{run_id} did not reach step {position}")
        await asyncio.sleep(0.03)


async def step_statuses(flare: Flare, run_id: int = 1) -> dict[str, str]:
    """step id -> status of the recorded steps."""
    async with flare.container.db.sessions() as session:
        rows = await session.execute(
            select(RunbookStepResult.step_id, RunbookStepResult.status)
            .where(RunbookStepResult.run_id == run_id)
            .order_by(RunbookStepResult.position)
        )
    return dict(rows.all())
