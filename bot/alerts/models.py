"""Tables behind alert intake: alert occurrences, the groups they form, and membership."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, SmallInteger, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.base import Base, BigId, JsonDoc, utcnow


class AlertRecord(Base):
    """One occurrence of an alert. (source, dedup_key, starts_at) is unique, and so is the open one."""

    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("source", "dedup_key", "starts_at"),
        # At most one firing occurrence per alert: a repeat of an open alert joins it.
        Index(
            "uq_alerts_open",
            "source",
            "dedup_key",
            unique=True,
            postgresql_where=text("status = 'firing'"),
            sqlite_where=text("status = 'firing'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(32))
    dedup_key: Mapped[str] = mapped_column(String(255))
    starts_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16))
    ends_at: Mapped[datetime | None]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    title: Mapped[str] = mapped_column(String(500))
    summary: Mapped[str] = mapped_column(Text, default="")
    service: Mapped[str | None] = mapped_column(String(100))
    severity: Mapped[str | None] = mapped_column(String(32))
    env: Mapped[str | None] = mapped_column(String(64))
    runbook: Mapped[str | None] = mapped_column(String(100))
    labels: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    annotations: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    links: Mapped[dict[str, Any]] = mapped_column(JsonDoc)


class AlertGroup(Base):
    """Alerts shown together in one Slack message (one per route, channel and grouping key).

    A group is open until every member resolves; a new firing alert after that opens a new group.
    `version` counts changes; the publisher renders when it is ahead of `rendered_version`.
    """

    __tablename__ = "alert_groups"
    __table_args__ = (
        Index(
            "uq_alert_groups_open",
            "channel",
            "group_key",
            unique=True,
            postgresql_where=text("resolved_at IS NULL"),
            sqlite_where=text("resolved_at IS NULL"),
        ),
        Index(
            "ix_alert_groups_dirty",
            "next_render_at",
            postgresql_where=text("version > rendered_version"),
            sqlite_where=text("version > rendered_version"),
        ),
        Index("ix_alert_groups_service", "service"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(100))
    group_key: Mapped[str] = mapped_column(String(64))
    route: Mapped[str] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(500))
    service: Mapped[str | None] = mapped_column(String(100))
    env: Mapped[str | None] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(4))
    mention: Mapped[str | None] = mapped_column(String(32))
    runbook: Mapped[str | None] = mapped_column(String(100))
    group_labels: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    firing: Mapped[int] = mapped_column(default=0)
    total: Mapped[int] = mapped_column(default=0)
    first_seen: Mapped[datetime]
    last_ended_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(default=1)
    rendered_version: Mapped[int] = mapped_column(default=0)
    next_render_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Outbox dedup key of this group's last post/update, to pace the next one after it is delivered.
    last_write_key: Mapped[str | None] = mapped_column(String(200))
    acked_by: Mapped[str | None] = mapped_column(String(32))
    acked_at: Mapped[datetime | None]
    incident_id: Mapped[int | None] = mapped_column(BigInteger)
    # Alerts the source left out of its last notification for this group (Alertmanager truncatedAlerts).
    truncated: Mapped[int] = mapped_column(default=0, server_default=text("0"))


class AlertGroupMember(Base):
    """An alert's place in a group (an alert routed to two channels is in two groups)."""

    __tablename__ = "alert_group_members"
    __table_args__ = (Index("ix_alert_group_members_alert_id", "alert_id"),)

    group_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("alert_groups.id", ondelete="CASCADE"), primary_key=True
    )
    alert_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("alerts.id", ondelete="CASCADE"), primary_key=True
    )
    # What the linked incident has been told about this alert: 0 nothing, 1 fired, 2 resolved.
    reported: Mapped[int] = mapped_column(SmallInteger, default=0)
