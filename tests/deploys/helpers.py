"""Helpers for the deploy tests: send deploy events, tick, read deploys and the messages about them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from bot.deploys.models import Deploy, DeployLink, WatchState
from tests.conftest import TICK_TOKEN, Flare
from tests.deploys.conftest import TOKEN
from tests.fakes.slack import FakeSlack, Message
from tests.support.messages import text_of
from tests.support.waits import settle


def deploy_event(**fields: Any) -> dict[str, Any]:
    """A complete 'started' event for checkout in production; `fields` override (None removes)."""
    body: dict[str, Any] = {
        "service": "checkout",
        "env": "production",
        "status": "started",
        "deploy_id": "gh-run-1001-1",
        "image": "us-docker.pkg.dev/acme/app/checkout@sha256:" + "ab" * 32,
        "commit_sha": "4f2c9e1d8b7a6c5e4f3a2b1c0d9e8f7a6b5c4d3e",
        "commit_url": "https://github.com/acme/checkout/commit/4f2c9e1d8b7a6c5e4f3a2b1c0d9e8f7a6b5c4d3e",
        "author": "alice",
        "pipeline_url": "https://github.com/acme/checkout/actions/runs/1001",
        "message": "Speed up the cart total",
    }
    body.update(fields)
    return {k: v for k, v in body.items() if v is not None}


async def send(
    flare: Flare, body: dict[str, Any] | bytes, *, token: str | None = TOKEN, **headers: str
) -> tuple[int, Any]:
    """POST /webhooks/deploy; (status, parsed answer)."""
    sent = dict(headers)
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    sent.setdefault("Content-Type", "application/json")
    return await flare.post("/webhooks/deploy", data=data, headers=sent)


async def tick(flare: Flare) -> None:
    """POST /tasks/tick (runs the watcher among the other jobs) and wait for the outbox."""
    status, body = await flare.post("/tasks/tick", headers={"Authorization": f"Bearer {TICK_TOKEN}"})
    assert status == 200, body
    await settle(flare)


async def deploys(flare: Flare) -> Sequence[Deploy]:
    """Every stored deploy, by id."""
    async with flare.container.db.sessions() as session:
        return (await session.execute(select(Deploy).order_by(Deploy.id))).scalars().all()


async def links(flare: Flare) -> list[tuple[int, int, str]]:
    """(deploy id, incident id, origin) of every suspect link."""
    async with flare.container.db.sessions() as session:
        rows = await session.execute(
            select(DeployLink.deploy_id, DeployLink.incident_id, DeployLink.origin).order_by(
                DeployLink.deploy_id
            )
        )
    return [(d, i, o) for d, i, o in rows.all()]


async def watch_state(flare: Flare) -> Sequence[WatchState]:
    """The watcher's rows."""
    async with flare.container.db.sessions() as session:
        return (await session.execute(select(WatchState))).scalars().all()


def messages_about(fake: FakeSlack, channel: str, deploy_id: int) -> list[Message]:
    """Messages in `channel` about deploy #id."""
    return [m for m in fake.posted(channel) if f"deploy #{deploy_id}" in text_of(m)]
