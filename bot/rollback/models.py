"""Tables behind rollbacks and traffic changes: one row per request, and its audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.base import Base, BigId, JsonDoc, utcnow

# planning -> proposed -> running -> succeeded | failed | unverified | stale | refused
#          \-> refused   \-> cancelled | expired | replaced | failed (plan not postable)
#                                  \-> interrupted (restart mid-way; resolved from a fresh read)
OPEN_STATUSES = ("planning", "proposed", "running")
ACTIVE_STATUSES = ("planning", "running")


class Rollback(Base):
    """A rollback, restore or traffic split: requested in Slack, confirmed, run in the background."""

    __tablename__ = "rollbacks"
    __table_args__ = (
        Index("ix_rollbacks_service_env_created", "service", "env", "created_at"),
        Index("ix_rollbacks_status", "status"),
        Index("uq_rollbacks_open_slot", "open_slot", unique=True),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # The Slack trigger_id (or action id) that asked for it: the same request twice is one row.
    request_key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    service: Mapped[str] = mapped_column(String(63))
    env: Mapped[str] = mapped_column(String(63))
    channel_id: Mapped[str] = mapped_column(String(40))
    requested_by: Mapped[str] = mapped_column(String(40))
    request: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    status: Mapped[str] = mapped_column(String(16))
    step: Mapped[str | None] = mapped_column(String(32))
    plan: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc)
    detail: Mapped[str | None] = mapped_column(Text)
    confirmed_by: Mapped[str | None] = mapped_column(String(40))
    incident_id: Mapped[int | None] = mapped_column(BigInteger)
    runbook_run_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    lease_until: Mapped[datetime | None]
    # "service:env" while this is the one open (planning or proposed) request for it; NULL otherwise.
    open_slot: Mapped[str | None] = mapped_column(String(140))
    # Where to tell the requester privately when Flare cannot post in the channel (valid ~30 min).
    response_url: Mapped[str | None] = mapped_column(Text)
    # A proposal not confirmed by then is refused and marked expired.
    expires_at: Mapped[datetime | None]
    # What Cloud Run served just before Flare changed it: {"allocation": [...], "serving": {...}}.
    before_traffic: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc)
    # What Flare last saw serving after (or instead of) the change: revision -> percent.
    observed: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc)


class RollbackEvent(Base):
    """One step of a rollback's life (proposed, refused, confirmed, patched, verified ...)."""

    __tablename__ = "rollback_events"
    __table_args__ = (Index("ix_rollback_events_rollback_id", "rollback_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    rollback_id: Mapped[int] = mapped_column(BigId, ForeignKey("rollbacks.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str | None] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
