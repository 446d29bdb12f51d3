"""silences_gate: Alertmanager silences and deploy-gate overrides (issue #13)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing yet: this revision is reserved for issue #13's tables."""


def downgrade() -> None:
    """Nothing yet: this revision is reserved for issue #13's tables."""
