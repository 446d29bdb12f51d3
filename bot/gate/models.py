"""Deploy gate overrides: who opened the gate for a service, why, and until when."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.base import Base, BigId, JsonDoc, utcnow


class GateOverride(Base):
    """The gate for `service` in `env` is open until `expires_at`, whatever incidents are open."""

    __tablename__ = "deploy_gate_overrides"
    __table_args__ = (Index("ix_deploy_gate_overrides_service_env_expires", "service", "env", "expires_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    service: Mapped[str] = mapped_column(String(63))
    env: Mapped[str] = mapped_column(String(63))
    reason: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    # The incidents that were blocking when the override was made.
    incidents: Mapped[list[Any]] = mapped_column(JsonDoc)
