"""paging: PagerDuty pages (issue #18)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing yet: this revision is reserved for issue #18's tables."""


def downgrade() -> None:
    """Nothing yet: this revision is reserved for issue #18's tables."""
