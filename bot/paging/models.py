"""Paging tables: one page per incident and team, and the PagerDuty events queued for it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.base import Base, BigId, JsonDoc, utcnow


class Page(Base):
    """A team paged for an incident. `dedup_key` is PagerDuty's: flare-INC-<n>[-<team>]."""

    __tablename__ = "pagerduty_pages"
    __table_args__ = (
        UniqueConstraint("incident_id", "team"),
        Index("ix_pagerduty_pages_state_created", "state", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(BigId, ForeignKey("incidents.id", ondelete="CASCADE"))
    team: Mapped[str] = mapped_column(String(64))
    dedup_key: Mapped[str] = mapped_column(String(200), unique=True)
    requested_by: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(String(16))  # declare | severity | manual
    message: Mapped[str | None] = mapped_column(Text)
    # pending (trigger not yet accepted) | accepted | failed (refused for good) | cancelled (resolved first)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    accepted_at: Mapped[datetime | None]
    failed_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    # Set (compare-and-set) when people were told the page is late or failed: told once.
    alerted_at: Mapped[datetime | None]


class PageEvent(Base):
    """One Events API v2 call to make (trigger, acknowledge, resolve); sent in order per page."""

    __tablename__ = "pagerduty_events"
    __table_args__ = (
        Index(
            "ix_pagerduty_events_pending",
            "page_id",
            "id",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    page_id: Mapped[int] = mapped_column(BigId, ForeignKey("pagerduty_pages.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(16))
    # The event body without routing_key (the secret is read from the environment when sending).
    body: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    # pending | sent | failed | skipped
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    not_before: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
