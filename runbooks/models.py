"""Tables behind runbook runs: the run (with a lease while it executes) and each step's result."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.base import Base, BigId, JsonDoc, utcnow

# running <-> waiting (a step asks for confirmation) -> succeeded | failed | stopped | interrupted
FINISHED = ("succeeded", "failed", "stopped", "interrupted")


class RunbookRun(Base):
    """One run of a runbook against a service, with the definition it started with."""

    __tablename__ = "runbook_runs"
    __table_args__ = (Index("ix_runbook_runs_status", "status"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    request_key: Mapped[str] = mapped_column(String(200), unique=True)
    runbook: Mapped[str] = mapped_column(String(100))
    definition: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    service: Mapped[str] = mapped_column(String(63))
    env: Mapped[str] = mapped_column(String(63))
    channel_id: Mapped[str] = mapped_column(String(40))
    requested_by: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16))
    position: Mapped[int] = mapped_column(default=0)
    confirmed_position: Mapped[int | None]
    incident_id: Mapped[int | None] = mapped_column(BigInteger)
    detail: Mapped[str | None] = mapped_column(Text)
    lease_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class RunbookStepResult(Base):
    """What one step of a run found or did."""

    __tablename__ = "runbook_step_results"
    __table_args__ = (UniqueConstraint("run_id", "position"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(BigId, ForeignKey("runbook_runs.id", ondelete="CASCADE"))
    position: Mapped[int]
    step_id: Mapped[str] = mapped_column(String(64))
    use: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    summary: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime]
