"""Sign in with Slack for the console: single-use login attempts bound to a browser, revocable sessions.

- `/ui/login` stores an attempt (state, nonce, a hash of a random value in the browser's login
  cookie) and sends the browser to Slack's authorize page.
- `/ui/auth/callback` consumes the attempt once (compare-and-set on `used_at`), only for the browser
  holding the login cookie, checks the team and the catalog's user groups, then stores a session.
- The session cookie seals a random id; the database holds only its hash, so logging out (revoking
  the row) makes the cookie worthless even before it expires.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote, urlencode, urljoin

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.console.models import ConsoleLogin, ConsoleSession

LOGIN_TTL = timedelta(minutes=10)
REFRESH_EVERY = timedelta(minutes=10)
SCOPES = "openid profile email"
SESSION_COOKIE = "flare_console"
LOGIN_COOKIE = "flare_console_login"


def digest(value: str) -> str:
    """sha256 hex of a secret value, as stored in the database."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def new_token() -> str:
    """An unguessable random token (256 bits)."""
    return secrets.token_urlsafe(32)


def authorize_url(api_url: str, *, client_id: str, state: str, nonce: str, redirect_uri: str) -> str:
    """Slack's authorize page (next to SLACK_API_URL: https://slack.com/openid/connect/authorize?...)."""
    query = urlencode(
        {
            "response_type": "code",
            "scope": SCOPES,
            "client_id": client_id,
            "state": state,
            "nonce": nonce,
            "redirect_uri": redirect_uri,
        },
        quote_via=quote,
    )
    return urljoin(api_url, "../openid/connect/authorize") + "?" + query


def safe_next(path: str | None) -> str:
    """Where to go after signing in: a console path only (no open redirect)."""
    if not path or not path.startswith("/ui/") or path.startswith("//") or "\\" in path:
        return "/ui/incidents"
    return path[:500]


async def start_login(session: AsyncSession, *, browser: str, next_path: str, now: datetime) -> ConsoleLogin:
    """Store a new attempt for the browser whose login cookie holds `browser`; old attempts are purged."""
    await session.execute(delete(ConsoleLogin).where(ConsoleLogin.created_at < now - LOGIN_TTL))
    login = ConsoleLogin(
        state=new_token(),
        nonce=new_token(),
        browser=digest(browser),
        next_path=safe_next(next_path),
        created_at=now,
    )
    session.add(login)
    return login


@dataclass(frozen=True)
class Consumed:
    """An attempt taken by its callback: the nonce to expect and where to go next."""

    nonce: str
    next_path: str


async def consume_login(
    session: AsyncSession, *, state: str, browser: str | None, now: datetime
) -> Consumed | str:
    """Take the attempt named by `state` once, for the browser that started it; or why not."""
    if not state or browser is None:
        return "this sign-in was not started in this browser (or its cookie expired)"
    login = (
        await session.execute(select(ConsoleLogin).where(ConsoleLogin.state == state))
    ).scalar_one_or_none()
    if login is None or login.created_at < now - LOGIN_TTL:
        return "this sign-in link is unknown or expired"
    if not secrets.compare_digest(login.browser, digest(browser)):
        return "this sign-in was not started in this browser"
    taken = await session.execute(
        update(ConsoleLogin)
        .where(ConsoleLogin.state == state, ConsoleLogin.used_at.is_(None))
        .values(used_at=now)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        return "this sign-in link was already used"
    return Consumed(login.nonce, login.next_path)


async def create_session(
    session: AsyncSession,
    *,
    user_id: str,
    team_id: str,
    name: str,
    email: str | None,
    now: datetime,
    lifetime: timedelta,
) -> tuple[str, ConsoleSession]:
    """A new session: (the id for the cookie, the stored row keyed by its hash)."""
    sid = new_token()
    row = ConsoleSession(
        id=digest(sid),
        user_id=user_id,
        team_id=team_id,
        name=name,
        email=email,
        created_at=now,
        expires_at=now + lifetime,
        checked_at=now,
    )
    session.add(row)
    await session.execute(delete(ConsoleSession).where(ConsoleSession.expires_at < now - timedelta(days=1)))
    return sid, row


async def find_session(session: AsyncSession, sid: str, *, now: datetime) -> ConsoleSession | None:
    """The live session whose id is `sid` (not revoked, not expired)."""
    row = (
        await session.execute(select(ConsoleSession).where(ConsoleSession.id == digest(sid)))
    ).scalar_one_or_none()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    return row


async def revoke(session: AsyncSession, sid: str, *, now: datetime) -> None:
    """Log a session out: its cookie is refused from now on."""
    await session.execute(
        update(ConsoleSession)
        .where(ConsoleSession.id == digest(sid), ConsoleSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )


async def mark_checked(session: AsyncSession, session_id: str, *, now: datetime) -> None:
    """Record that the session's group membership was confirmed at `now`."""
    await session.execute(
        update(ConsoleSession).where(ConsoleSession.id == session_id).values(checked_at=now)
    )
