"""Helpers for the post-mortem tests: drive the app, wait for delivery, read drafts and uploads."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.postmortem.models import PostmortemDraft
from tests.conftest import Flare
from tests.fakes.slack import FakeSlack
from tests.support.waits import settle

ALICE, BOB, CAROL = "U0ALICE01", "U0BOB0001", "U0CAROL01"


async def declare(
    flare: Flare, fake: FakeSlack, text: str = "P2 checkout is failing --service checkout"
) -> str:
    """Declare INC-<n> with /incident and wait for its channel; the channel id."""
    before = len(fake.ok_calls("conversations.create"))
    reply = await flare.slack.command("/incident", f"declare {text}", user=ALICE)
    assert reply.status == 200, reply.text
    await settle(flare)
    created = fake.ok_calls("conversations.create")
    assert len(created) == before + 1, "the incident channel was created"
    return str(created[-1].response["channel"]["id"])


async def command(flare: Flare, text: str, *, channel: str, user: str = BOB) -> str:
    """Send `/incident <text>` in `channel`; the ephemeral answer's text."""
    reply = await flare.slack.command("/incident", text, user=user, channel=channel)
    assert reply.status == 200, reply.text
    body = reply.json()
    return str(body["text"]) if body else ""


async def drafts(flare: Flare, incident_id: int = 1) -> list[PostmortemDraft]:
    """The stored versions of an incident's draft, oldest first."""
    async with flare.container.db.sessions() as session:
        rows = await session.execute(
            select(PostmortemDraft)
            .where(PostmortemDraft.incident_id == incident_id)
            .order_by(PostmortemDraft.version)
        )
        return list(rows.scalars())


def uploads(fake: FakeSlack, channel: str | None = None) -> list[dict[str, Any]]:
    """Files completed at the fake Slack (optionally in one channel), with their uploaded bytes."""
    return [f for f in fake.files if channel is None or f["channel"] == channel]


def ephemerals(fake: FakeSlack, user: str) -> list[str]:
    """Texts of the ephemeral messages `user` was sent through chat.postEphemeral."""
    return [str(p.get("text", "")) for p in fake.ephemerals if p.get("user") == user]
