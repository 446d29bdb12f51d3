"""The stored drafts: one row per version of an incident's post-mortem; older versions are kept."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.base import Base, BigId, utcnow


class PostmortemDraft(Base):
    """Version `version` of INC-<incident_id>'s draft, exactly as rendered and uploaded."""

    __tablename__ = "postmortems"
    __table_args__ = (UniqueConstraint("incident_id", "version"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(BigId, ForeignKey("incidents.id", ondelete="CASCADE"))
    version: Mapped[int]
    markdown: Mapped[str] = mapped_column(Text)
    # sha256 of `markdown`: a request that would render the same bytes as the latest version is a no-op.
    sha256: Mapped[str] = mapped_column(String(64))
    event_count: Mapped[int]
    generated_by: Mapped[str] = mapped_column(String(64))
    trigger: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
