"""Tables behind durable Slack delivery: the outbox, its lanes, and delivered references."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.base import Base, BigId, JsonDoc, utcnow


class OutboxItem(Base):
    """One Slack API call to make, written in the same transaction as the change that caused it."""

    __tablename__ = "slack_outbox"
    __table_args__ = (
        Index(
            "ix_slack_outbox_lane_pending",
            "lane",
            "id",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
        Index("ix_slack_outbox_produces", "produces"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    lane: Mapped[str] = mapped_column(String(200))
    method: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    # The reference (message or channel key) this call's result is recorded under.
    produces: Mapped[str | None] = mapped_column(String(200))
    # For chat.update / pins.add / reactions: the message key the call targets.
    target: Mapped[str | None] = mapped_column(String(200))
    dedup_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    not_before: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc)
    # The person whose action caused this call, told privately if Slack refuses it for good.
    caused_by: Mapped[str | None] = mapped_column(String(32))
    response_url: Mapped[str | None] = mapped_column(Text)


class OutboxLane(Base):
    """Per-channel delivery state: pacing tokens, backoff and the lease that serialises senders."""

    __tablename__ = "slack_lanes"

    lane: Mapped[str] = mapped_column(String(200), primary_key=True)
    next_at: Mapped[datetime] = mapped_column(default=utcnow)
    tokens: Mapped[float] = mapped_column(default=3.0)
    tokens_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]


class SlackRef(Base):
    """Where a logical channel or message ended up in Slack once delivered."""

    __tablename__ = "slack_refs"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    channel_id: Mapped[str] = mapped_column(String(40))
    ts: Mapped[str | None] = mapped_column(String(40))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
