"""change_safety: rollback proposals, before-state and outcomes (issue #13)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)
JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    """One open proposal per service and environment, expiry, the recorded before-state and outcome."""
    op.add_column("rollbacks", sa.Column("open_slot", sa.String(140), nullable=True))
    op.add_column("rollbacks", sa.Column("response_url", sa.Text(), nullable=True))
    op.add_column("rollbacks", sa.Column("expires_at", TS, nullable=True))
    op.add_column("rollbacks", sa.Column("before_traffic", JSON_DOC, nullable=True))
    op.add_column("rollbacks", sa.Column("observed", JSON_DOC, nullable=True))
    op.create_index("uq_rollbacks_open_slot", "rollbacks", ["open_slot"], unique=True)


def downgrade() -> None:
    """Drop the columns again."""
    op.drop_index("uq_rollbacks_open_slot", table_name="rollbacks")
    with op.batch_alter_table("rollbacks") as batch:
        for column in ("observed", "before_traffic", "expires_at", "response_url", "open_slot"):
            batch.drop_column(column)
