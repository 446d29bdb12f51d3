"""Which schema revision the code needs and which one a database has, without importing Alembic.

Revision ids are four-digit sequence numbers matching their file names (0001_foundation.py), so
the head is the largest prefix. A test checks this agrees with Alembic's own view. Reading it this
way keeps `flare serve` from paying Alembic's import cost when the database is already current.
"""

from __future__ import annotations

from importlib import resources

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from bot.db.engine import make_engine


def code_head() -> str:
    """The newest migration revision shipped with this code."""
    versions = resources.files("migrations").joinpath("versions")
    names = [p.name for p in versions.iterdir() if p.name[:4].isdigit() and p.name.endswith(".py")]
    return max(name[:4] for name in names)


async def database_revision(url: str) -> str | None:
    """The revision recorded in the database's alembic_version table; None if it has none."""
    engine = make_engine(url, pool_size=1)
    try:
        async with engine.connect() as conn:
            try:
                result = await conn.execute(text("SELECT version_num FROM alembic_version"))
            except DBAPIError as exc:
                if "alembic_version" in str(exc.orig) or "no such table" in str(exc.orig):
                    return None
                raise
            row = result.first()
            return str(row[0]) if row else None
    finally:
        await engine.dispose()
