"""Console tables: signed-in sessions (revocable server-side) and pending Sign in with Slack attempts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.base import Base, utcnow


class ConsoleSession(Base):
    """A signed-in browser. The cookie carries the session id; logging out revokes the row."""

    __tablename__ = "console_sessions"
    __table_args__ = (Index("ix_console_sessions_expires_at", "expires_at"),)

    # sha256 (hex) of the random session id sealed in the cookie: the id itself is never stored.
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(32))
    team_id: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    checked_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]


class ConsoleLogin(Base):
    """One Sign in with Slack attempt: its `state` is used once, by the browser that started it."""

    __tablename__ = "console_logins"
    __table_args__ = (Index("ix_console_logins_created_at", "created_at"),)

    state: Mapped[str] = mapped_column(String(64), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(64))
    # sha256 (hex) of the random value in the browser's login cookie.
    browser: Mapped[str] = mapped_column(String(64))
    next_path: Mapped[str] = mapped_column(String(500), default="/ui/incidents")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    used_at: Mapped[datetime | None]
