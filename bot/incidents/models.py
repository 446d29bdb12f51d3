"""Incident tables: the incident row, its timeline events and its action items."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.base import Base, BigId, JsonDoc, utcnow


class Incident(Base):
    """One incident. `id` is the sequential number behind the human id INC-<id>."""

    __tablename__ = "incidents"
    __table_args__ = (
        Index("ix_incidents_status_severity", "status", "severity"),
        Index("ix_incidents_service_status", "service", "status"),
        Index("ix_incidents_channel_id", "channel_id"),
        Index("ix_incidents_next_reminder_at", "next_reminder_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    severity: Mapped[str] = mapped_column(String(2))
    status: Mapped[str] = mapped_column(String(16))
    service: Mapped[str | None] = mapped_column(String(64))
    commander: Mapped[str | None] = mapped_column(String(32))
    comms: Mapped[str | None] = mapped_column(String(32))
    declared_by: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(32))
    origin: Mapped[str | None] = mapped_column(String(200))
    # Idempotency of declarations: a modal's view id, a command's trigger id, an alert group.
    dedup_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    channel_name: Mapped[str] = mapped_column(String(80))
    # Filled in once the channel exists (from slack_refs), so lookups by channel stay indexed.
    channel_id: Mapped[str | None] = mapped_column(String(40))
    # Why Slack refused to create the channel (restricted_action, ...); None once it exists.
    channel_error: Mapped[str | None] = mapped_column(String(200))
    declared_at: Mapped[datetime] = mapped_column(default=utcnow)
    impact_started_at: Mapped[datetime | None]
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(String(32))
    mitigated_at: Mapped[datetime | None]
    mitigated_by: Mapped[str | None] = mapped_column(String(32))
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(32))
    summary: Mapped[str | None] = mapped_column(Text)
    last_update_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_update_text: Mapped[str | None] = mapped_column(Text)
    next_reminder_at: Mapped[datetime | None]
    # Compare-and-set token for reminders: a tick only sends when it moves this forward.
    reminders_sent: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def human_id(self) -> str:
        """INC-<id>."""
        return f"INC-{self.id}"

    @property
    def channel_key(self) -> str:
        """The outbox reference key of the incident's channel."""
        return f"incident:{self.id}"

    @property
    def card_key(self) -> str:
        """The outbox reference key of the pinned summary card."""
        return f"incident:{self.id}:card"


class IncidentEvent(Base):
    """One timeline entry. `dedup_key` makes recording the same thing twice a no-op."""

    __tablename__ = "incident_events"
    __table_args__ = (
        UniqueConstraint("incident_id", "dedup_key"),
        Index("ix_incident_events_incident_occurred", "incident_id", "occurred_at"),
        Index(
            "ix_incident_events_pending_fetch",
            "id",
            postgresql_where=text("pending_fetch"),
            sqlite_where=text("pending_fetch"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(BigId, ForeignKey("incidents.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str | None] = mapped_column(String(64))
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    data: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    dedup_key: Mapped[str | None] = mapped_column(String(200))
    # A captured message whose text/permalink still has to be fetched from Slack.
    pending_fetch: Mapped[bool] = mapped_column(default=False)


class ActionItem(Base):
    """A follow-up recorded with `/incident action`, listed in the post-mortem."""

    __tablename__ = "incident_action_items"
    __table_args__ = (Index("ix_incident_action_items_incident", "incident_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(BigId, ForeignKey("incidents.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text)
    owner: Mapped[str | None] = mapped_column(String(32))
    created_by: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default="open")
