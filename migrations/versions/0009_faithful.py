"""faithful: delivery failures, people, alert state (issue #15)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing yet: this revision is reserved for issue #15's tables."""


def downgrade() -> None:
    """Nothing yet: this revision is reserved for issue #15's tables."""
