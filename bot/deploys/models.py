"""Deploy tables: one row per deploy or out-of-band traffic change, incident links, watcher state."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.base import Base, BigId, JsonDoc, utcnow

KINDS = ("deploy", "traffic")
STATUSES = ("started", "succeeded", "failed")
TERMINAL = ("succeeded", "failed")


class Deploy(Base):
    """A deploy (announced by a pipeline or found by the watcher) or a traffic change made outside Flare.

    `key` is the natural idempotency key of the sender (deploy id, pipeline URL or revision); a
    revision belongs to at most one row, so the webhook and the watcher cannot both announce it.
    """

    __tablename__ = "deploys"
    __table_args__ = (
        UniqueConstraint("service", "env", "key"),
        UniqueConstraint("service", "env", "revision"),
        Index("ix_deploys_service_started", "service", "started_at"),
        Index("ix_deploys_started", "started_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    service: Mapped[str] = mapped_column(String(63))
    env: Mapped[str] = mapped_column(String(63))
    key: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    revision: Mapped[str | None] = mapped_column(String(100))
    image: Mapped[str | None] = mapped_column(String(500))
    commit_sha: Mapped[str | None] = mapped_column(String(64))
    commit_url: Mapped[str | None] = mapped_column(String(500))
    author: Mapped[str | None] = mapped_column(String(200))
    pipeline_url: Mapped[str | None] = mapped_column(String(500))
    message: Mapped[str | None] = mapped_column(Text)
    # {"before": {revision: percent}, "after": {...}} when the traffic split is known.
    traffic: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class DeployLink(Base):
    """A deploy that is a suspect change of an incident (found at declare time, or live)."""

    __tablename__ = "deploy_links"
    __table_args__ = (Index("ix_deploy_links_incident_id", "incident_id"),)

    deploy_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("deploys.id", ondelete="CASCADE"), primary_key=True
    )
    incident_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True
    )
    origin: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WatchState(Base):
    """What the watcher last saw of one service in one environment; `version` is its compare-and-set token."""

    __tablename__ = "deploy_watch"

    service: Mapped[str] = mapped_column(String(63), primary_key=True)
    env: Mapped[str] = mapped_column(String(63), primary_key=True)
    state: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    version: Mapped[int] = mapped_column(default=0)
    next_poll_at: Mapped[datetime]
    polled_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
