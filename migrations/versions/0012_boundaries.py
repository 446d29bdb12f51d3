"""boundaries: hardened boundaries (issue #14)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing yet: this revision is reserved for issue #14's tables."""


def downgrade() -> None:
    """Nothing yet: this revision is reserved for issue #14's tables."""
