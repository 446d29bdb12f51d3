"""Turns changed alert groups into Slack posts and coalesced updates, through the outbox.

Intake only marks a group changed (`version`). The publisher renders changed groups and writes one
post or chat.update per group, then waits until that write has been delivered and the pacing
window has passed before it writes the next one: at most one Slack write per message per window,
however many alerts arrive. Groups are claimed with FOR UPDATE SKIP LOCKED, so every instance can
run a publisher.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.alerts import linking
from bot.alerts.models import AlertGroup
from bot.alerts.queries import group_alerts
from bot.alerts.render import GroupView, render_group
from bot.container import Container
from bot.silences.group_view import with_silence
from bot.slack.models import OutboxItem
from bot.slack.outbox import Outbound, enqueue, lane_for, post_message, update_message

log = logging.getLogger("flare.alerts")
_Write = tuple[str, datetime | None, str | None]  # an earlier outbox write: status, sent_at, last_error


def message_key(group_id: int) -> str:
    """The outbox reference of a group's message."""
    return f"alert-group:{group_id}"


class GroupPublisher:
    """Renders changed groups into the outbox; `run` loops, `publish_due` does one pass."""

    def __init__(self, c: Container, *, batch_size: int = 20) -> None:
        self.c = c
        self.window = timedelta(seconds=c.catalog.routes.update_interval_seconds)
        # Other instances' changes are found by polling; this instance's own are announced via `due`.
        self.poll = min(1.0, self.window.total_seconds() / 4)
        self.batch_size = batch_size
        self._due: datetime | None = None
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()

    def due(self, when: datetime | None) -> None:
        """A group changed and may be rendered from `when` on: publish then (or now, if that has passed)."""
        if when is None:
            return
        if self._due is None or when < self._due:
            self._due = when
            self._wake.set()

    async def stop(self) -> None:
        """Make `run` return after the pass in progress."""
        self._stopping.set()
        self._wake.set()

    async def run(self) -> None:
        """Publish until stopped: when something is due, and at least every `poll` seconds.

        Each pass is a write transaction (SQLite serialises those, and its pool has one connection), so
        passes are not run for changes that cannot be published yet, and at most one starts per `poll`:
        in a storm, groups falling due a few ms apart share a pass instead of each stalling intake.
        Database errors are logged and retried at the next poll.
        """
        next_poll = self.c.clock.now()
        earliest = next_poll
        while not self._stopping.is_set():
            now = self.c.clock.now()
            if now >= earliest and (now >= next_poll or (self._due is not None and self._due <= now)):
                self._due = None
                next_poll = earliest = now + timedelta(seconds=self.poll)
                try:
                    handled, upcoming = await self.publish_due()
                except Exception:
                    log.exception("publishing alert groups failed; retrying")
                    handled, upcoming = 0, None
                if handled >= self.batch_size:
                    earliest = now  # more are waiting: go on at once
                    continue
                self.due(upcoming)
            self._wake.clear()
            wake_at = next_poll if self._due is None else max(min(next_poll, self._due), earliest)
            with contextlib.suppress(TimeoutError):
                timeout = max((wake_at - self.c.clock.now()).total_seconds(), 0.0)
                await asyncio.wait_for(self._wake.wait(), timeout=timeout)

    async def publish_due(self) -> tuple[int, datetime | None]:
        """Render changed groups whose message may be written now.

        Returns how many groups were examined, and when the next changed group falls due.
        """
        c = self.c
        async with c.transaction() as session:
            now = c.clock.now()
            groups = list(
                (
                    await session.execute(
                        select(AlertGroup)
                        .where(
                            AlertGroup.version > AlertGroup.rendered_version,
                            AlertGroup.next_render_at <= now,
                        )
                        .order_by(AlertGroup.next_render_at, AlertGroup.id)
                        .limit(self.batch_size)
                        .with_for_update(skip_locked=True)
                    )
                ).scalars()
            )
            if groups:
                previous = await _writes(session, [g.last_write_key for g in groups if g.last_write_key])
                for group in groups:
                    wait = self._pace(group, previous.get(group.last_write_key or ""), now)
                    if wait is not None:
                        group.next_render_at = wait
                        continue
                    await self._publish(session, group, previous.get(group.last_write_key or ""), now)
                await session.flush()
            upcoming = (
                await session.execute(
                    select(func.min(AlertGroup.next_render_at)).where(
                        AlertGroup.version > AlertGroup.rendered_version
                    )
                )
            ).scalar_one_or_none()
        return len(groups), upcoming

    def _pace(self, group: AlertGroup, previous: _Write | None, now: datetime) -> datetime | None:
        """When the group's next write may happen, or None if it may happen now."""
        if previous is None:
            return None
        status, sent_at, _ = previous
        if status == "pending":
            return now + timedelta(seconds=self.poll)
        if status == "sent" and sent_at is not None and sent_at + self.window > now:
            return sent_at + self.window
        return None

    async def _publish(
        self,
        session: AsyncSession,
        group: AlertGroup,
        previous: _Write | None,
        now: datetime,
    ) -> None:
        incident = await linking.refresh(self.c, session, group)
        alerts = await group_alerts(session, group.id, self.c.catalog.routes.max_alerts_shown)
        view = group_view(group, incident.human_id if incident else None)
        view = await with_silence(session, self.c.catalog, group, view)  # issue 13: silences
        text, blocks = render_group(view, alerts, max_shown=self.c.catalog.routes.max_alerts_shown)
        key = message_key(group.id)
        # Post again if the post failed, or if the message is gone (someone deleted it).
        reposting = False
        if previous is not None and previous[0] == "failed":
            lost = "message_not_found" in (previous[2] or "")
            reposting = lost or ":post:" in (group.last_write_key or "")
        item: Outbound
        if group.rendered_version == 0 or reposting:
            item = post_message(
                group.channel, text=text, blocks=blocks, key=key, dedup_key=f"{key}:post:{group.version}"
            )
        else:
            update = update_message(key, lane=lane_for(group.channel), text=text, blocks=blocks)
            item = dataclasses.replace(update, dedup_key=f"{key}:v{group.version}")
        await enqueue(session, item)
        group.last_write_key = item.dedup_key
        group.rendered_version = group.version
        group.next_render_at = now + self.window
        if incident is not None:
            await linking.report(self.c, session, group, incident, view, now)


async def _writes(session: AsyncSession, keys: list[str]) -> dict[str, _Write]:
    """Delivery state of earlier outbox writes, by their dedup key."""
    if not keys:
        return {}
    rows = await session.execute(
        select(OutboxItem.dedup_key, OutboxItem.status, OutboxItem.sent_at, OutboxItem.last_error).where(
            OutboxItem.dedup_key.in_(keys)
        )
    )
    return {str(r.dedup_key): (r.status, r.sent_at, r.last_error) for r in rows}


def group_view(group: AlertGroup, incident: str | None) -> GroupView:
    """What the renderer needs to know about a stored group."""
    return GroupView(
        id=group.id,
        title=group.title,
        source=group.source,
        route=group.route,
        severity=group.severity,
        firing=group.firing,
        total=group.total,
        first_seen=group.first_seen,
        service=group.service,
        env=group.env,
        mention=group.mention,
        runbook=group.runbook,
        group_labels=dict(group.group_labels or {}),
        last_ended_at=group.last_ended_at,
        resolved_at=group.resolved_at,
        acked_by=group.acked_by,
        incident=incident,
        truncated=group.truncated,
    )
