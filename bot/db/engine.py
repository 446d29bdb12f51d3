"""Engine and session factories. Nothing global: the app owns one Database."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, event, text
from sqlalchemy.engine.url import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry


@dataclass(frozen=True)
class DbTimeouts:
    """How long the server's engine waits on the database: sized so a hung database fails inside Slack's 3 s.

    `command` is asyncpg's command_timeout and PostgreSQL's statement_timeout; `pool` bounds the wait
    for a pooled connection; TCP keepalives notice a peer that vanished without closing the socket.
    """

    connect: float = 2.0
    command: float = 5.0
    pool: float = 2.0
    sqlite_busy: float = 2.5
    keepalive_idle: int = 10
    keepalive_interval: int = 5
    keepalive_count: int = 3


# Migrations and one-off CLI work may run long statements: no statement timeout, generous waits.
_BATCH = DbTimeouts(connect=5.0, command=0.0, pool=30.0, sqlite_busy=10.0)


def _sqlite_pragmas(busy_ms: int) -> Any:
    def on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # pysqlite's implicit BEGIN is DEFERRED: a read-then-write transaction can then fail with
        # "database is locked" instead of waiting. We take over and begin IMMEDIATE (see _sqlite_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return on_connect


def _tcp_keepalive(timeouts: DbTimeouts) -> Any:
    def on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        transport = getattr(dbapi_connection.driver_connection, "_transport", None)
        sock = transport.get_extra_info("socket") if transport is not None else None
        if sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
            return
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        for name, value in (
            ("TCP_KEEPIDLE", timeouts.keepalive_idle),
            ("TCP_KEEPINTVL", timeouts.keepalive_interval),
            ("TCP_KEEPCNT", timeouts.keepalive_count),
        ):
            if hasattr(socket, name):
                sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, name), value)

    return on_connect


def _sqlite_begin(conn: Connection) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str, *, pool_size: int = 10, timeouts: DbTimeouts | None = None) -> AsyncEngine:
    """An async engine for `url`, with WAL and a busy timeout on SQLite; `timeouts` None for batch work."""
    t = timeouts or _BATCH
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        # One connection: SQLite has one writer anyway, and queueing in the pool (FIFO, no sleeping)
        # beats contending in SQLite's busy handler, whose backoff sleeps up to 100 ms at a time.
        # A waiter is only woken by a returned connection, not by a failed connect, so a file that
        # cannot be opened makes queued requests wait the whole pool_timeout before their 503.
        engine = create_async_engine(url, pool_size=1, max_overflow=0, pool_timeout=max(t.pool, 5.0))
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas(int(t.sqlite_busy * 1000)))
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine
    server_settings = {
        "application_name": "flare",
        # The server side of the keepalive: PostgreSQL ends (and rolls back) a session whose client vanished.
        "tcp_keepalives_idle": str(t.keepalive_idle),
        "tcp_keepalives_interval": str(t.keepalive_interval),
        "tcp_keepalives_count": str(t.keepalive_count),
    }
    if t.command:
        server_settings["statement_timeout"] = str(int(t.command * 1000))
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=5,
        pool_pre_ping=True,
        pool_recycle=1800,
        pool_timeout=t.pool,
        connect_args={
            "timeout": t.connect,
            "command_timeout": t.command or None,
            "server_settings": server_settings,
        },
    )
    event.listen(engine.sync_engine, "connect", _tcp_keepalive(t))
    return engine


class Database:
    """An engine plus its session factory."""

    def __init__(self, url: str, *, pool_size: int = 10, timeouts: DbTimeouts | None = None) -> None:
        self.url = url
        self.timeouts = timeouts or DbTimeouts()
        self.engine = make_engine(url, pool_size=pool_size, timeouts=self.timeouts)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False, autoflush=False)

    @property
    def dialect(self) -> str:
        """'sqlite' or 'postgresql'."""
        return self.engine.dialect.name

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session inside a transaction that commits on success and rolls back on error."""
        async with self.sessions() as session, session.begin():
            yield session

    async def ping(self) -> None:
        """One round trip to the database; raises when it is unreachable."""
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def close(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()
