"""The silences Flare made in Alertmanager: what they cover, who made them, and how they ended."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.base import Base, BigId, JsonDoc, utcnow

# creating -> active -> expired ; creating -> failed (Alertmanager said no or did not answer)
LIVE_STATUSES = ("creating", "active")


class Silence(Base):
    """One silence. `slot` ("change:7", "group:12") is set while it is live: one per change or group."""

    __tablename__ = "silences"
    __table_args__ = (
        Index("ix_silences_rollback_id", "rollback_id"),
        Index("ix_silences_group_id", "group_id"),
        Index("ix_silences_incident_id", "incident_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    slot: Mapped[str | None] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # change | group
    status: Mapped[str] = mapped_column(String(16))
    alertmanager_id: Mapped[str | None] = mapped_column(String(64))
    alertmanager_url: Mapped[str | None] = mapped_column(String(300))
    matchers: Mapped[list[dict[str, Any]]] = mapped_column(JsonDoc)
    service: Mapped[str | None] = mapped_column(String(63))
    env: Mapped[str | None] = mapped_column(String(63))
    rollback_id: Mapped[int | None] = mapped_column(BigInteger)
    group_id: Mapped[int | None] = mapped_column(BigInteger)
    incident_id: Mapped[int | None] = mapped_column(BigInteger)
    created_by: Mapped[str] = mapped_column(String(40))
    comment: Mapped[str] = mapped_column(Text, default="")
    until_resolved: Mapped[bool] = mapped_column(default=False)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expired_at: Mapped[datetime | None]
    expired_by: Mapped[str | None] = mapped_column(String(40))
    error: Mapped[str | None] = mapped_column(Text)
