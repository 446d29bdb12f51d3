"""Generating a draft: render from the stored data, store it as the next version, upload it via the outbox.

`generate` runs inside the caller's transaction with the incident row locked, so the new version,
its timeline entry and the upload commit together, and two requests at once (a double click, two
instances) cannot both make a version. A request that would render exactly the bytes of the latest
version makes none: the latest is returned instead.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, replace
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.container import Container
from bot.db.dedup import first_delivery
from bot.incidents.models import Incident
from bot.incidents.timeline import record_event
from bot.postmortem import load
from bot.postmortem.models import PostmortemDraft
from bot.postmortem.render import render
from bot.slack.escape import user_mention
from bot.slack.outbox import enqueue, upload_file
from bot.slack.refs import channel_ref

# Above this many events the render runs in a worker thread, so the event loop keeps serving
# (and requests.request drafts in the background instead of before the ack).
THREAD_ABOVE_EVENTS = 1000
TRIGGERS = ("command", "button", "resolve")


@dataclass(frozen=True)
class Draft:
    """A stored version of a draft; `created` is False when an identical latest version was reused."""

    incident_id: int
    version: int
    created: bool
    event_count: int
    markdown: str

    @property
    def human_id(self) -> str:
        """INC-<id>."""
        return f"INC-{self.incident_id}"

    @property
    def filename(self) -> str:
        """inc-42-postmortem-v2.md."""
        return f"inc-{self.incident_id}-postmortem-v{self.version}.md"


def digest(markdown: str) -> str:
    """The sha256 (hex) of a rendered draft."""
    return hashlib.sha256(markdown.encode("utf-8")).hexdigest()


async def render_current(
    session: AsyncSession, incident: Incident, *, workspace_url: str | None
) -> tuple[str, int]:
    """The draft as the stored data renders it now, and how many events it covers (nothing is stored)."""
    sources = await load.load(session, incident, workspace_url=workspace_url)
    args = (sources.incident, sources.events, sources.action_items, sources.refs)
    if len(sources.events) > THREAD_ABOVE_EVENTS:
        markdown = await asyncio.to_thread(render, *args)
    else:
        markdown = render(*args)
    return markdown, len(sources.events)


async def generate(
    c: Container,
    session: AsyncSession,
    incident: Incident,
    *,
    actor: str,
    trigger: str,
    request_key: str | None = None,
) -> Draft:
    """Make the next version (or reuse an identical latest one); the incident row must be locked.

    A new version is recorded on the timeline and uploaded to the incident channel in this transaction.
    `request_key` (a Slack trigger id) makes a replayed request return what the first one made.
    """
    if trigger not in TRIGGERS:
        raise ValueError(f"unknown trigger {trigger!r}")
    head = await _latest_head(session, incident.id)
    if request_key and not await first_delivery(session, f"postmortem:{request_key}") and head:
        return await _reused(session, head.id)
    markdown, count = await render_current(
        session, incident, workspace_url=c.catalog.incidents.slack_workspace_url
    )
    sha = digest(markdown)
    if head is not None and head.sha256 == sha:
        return await _reused(session, head.id)
    version = (head.version if head else 0) + 1
    row = PostmortemDraft(
        incident_id=incident.id,
        version=version,
        markdown=markdown,
        sha256=sha,
        event_count=count,
        generated_by=actor[:64],
        trigger=trigger,
        created_at=c.clock.now(),
    )
    session.add(row)
    await session.flush()
    draft = _draft(row, created=True)
    await record_event(
        session,
        incident.id,
        kind="postmortem",
        text=f"Post-mortem draft v{version} generated ({count} events)",
        actor=actor,
        occurred_at=row.created_at,
        data={"version": version, "sha256": sha, "filename": draft.filename, "trigger": trigger},
        dedup_key=f"postmortem:v{version}",
    )
    upload = upload_file(
        channel_ref(incident.channel_key),
        filename=draft.filename,
        content=markdown,
        title=f"{draft.human_id} post-mortem draft v{version}",
        comment=upload_comment(
            draft,
            actor,
            trigger,
            console_url=c.settings.console_url(f"incidents/{draft.human_id}/postmortem"),
        ),
    )
    await enqueue(session, replace(upload, dedup_key=f"postmortem:{incident.id}:v{version}"))
    return draft


def upload_comment(draft: Draft, actor: str, trigger: str, *, console_url: str | None = None) -> str:
    """The message posted with the uploaded file (mrkdwn); `console_url` adds a link to the console."""
    who = "Flare" if actor == "flare" else user_mention(actor)
    how = f"on resolve by {who}" if trigger == "resolve" else f"by {who}"
    text = (
        f":memo: Post-mortem draft *v{draft.version}* of *{draft.human_id}*, generated {how} from "
        f"{draft.event_count} timeline events. Copy it into your docs and fill in the TODOs; "
        "`/incident postmortem` makes a new version with anything recorded since."
    )
    if console_url:
        text += f" <{console_url}?version={draft.version}|View in console>"
    return text


def _draft(row: PostmortemDraft, *, created: bool) -> Draft:
    return Draft(row.incident_id, row.version, created, row.event_count, row.markdown)


class _Head(NamedTuple):
    id: int
    version: int
    sha256: str


async def _latest_head(session: AsyncSession, incident_id: int) -> _Head | None:
    """Id, version and sha256 of the newest version: its Markdown (a long draft is megabytes) stays unread."""
    d = PostmortemDraft
    stmt = (
        select(d.id, d.version, d.sha256)
        .where(d.incident_id == incident_id)
        .order_by(d.version.desc())
        .limit(1)
    )
    row = (await session.execute(stmt)).first()
    return _Head(*row) if row is not None else None


async def _reused(session: AsyncSession, draft_id: int) -> Draft:
    stmt = select(PostmortemDraft).where(PostmortemDraft.id == draft_id)
    return _draft((await session.execute(stmt)).scalar_one(), created=False)


async def latest(session: AsyncSession, incident_id: int) -> PostmortemDraft | None:
    """The newest stored version of an incident's draft."""
    stmt = (
        select(PostmortemDraft)
        .where(PostmortemDraft.incident_id == incident_id)
        .order_by(PostmortemDraft.version.desc())
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def stored(session: AsyncSession, incident_id: int, version: int | None = None) -> Draft | None:
    """Version `version` (the newest when None) of an incident's draft, if stored."""
    if version is None:
        row = await latest(session, incident_id)
    else:
        row = (
            await session.execute(
                select(PostmortemDraft).where(
                    PostmortemDraft.incident_id == incident_id, PostmortemDraft.version == version
                )
            )
        ).scalar_one_or_none()
    return _draft(row, created=False) if row is not None else None


async def versions(session: AsyncSession, incident_id: int) -> list[int]:
    """Every stored version number of an incident's draft, oldest first."""
    rows = await session.execute(
        select(PostmortemDraft.version)
        .where(PostmortemDraft.incident_id == incident_id)
        .order_by(PostmortemDraft.version)
    )
    return [int(v) for v in rows.scalars()]
