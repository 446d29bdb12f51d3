"""What "Roll back to previous" on a suspect change asks the rollback flow for."""

from __future__ import annotations

from dataclasses import dataclass

from bot.container import Container
from bot.deploys.models import Deploy
from bot.rollback.plan import Request


@dataclass(frozen=True)
class Where:
    """The service and environment a deploy changed."""

    service: str
    env: str


def previous_request(row: Deploy) -> Request:
    """Back to the split that served before the change when the watcher saw it, else the default
    rollback (the newest Ready revision older than the one serving). The plan is shown for
    confirmation either way."""
    before = (row.traffic or {}).get("before")
    if isinstance(before, dict) and before and sum(int(p) for p in before.values()) == 100:
        return Request(mode="split", splits={str(n): int(p) for n, p in before.items() if int(p)})
    return Request()


async def rollback_request(c: Container, deploy_id: int) -> tuple[Where, Request] | None:
    """The target and rollback request for a deploy's button; None when the deploy is unknown."""
    async with c.db.sessions() as session:
        row = await session.get(Deploy, deploy_id)
    if row is None:
        return None
    return Where(row.service, row.env), previous_request(row)
