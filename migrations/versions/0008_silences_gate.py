"""silences_gate: Alertmanager silences and deploy-gate overrides (issue #13)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)
JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """The silences Flare made, and deploy gate overrides."""
    op.create_table(
        "silences",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("slot", sa.String(64), nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("alertmanager_id", sa.String(64), nullable=True),
        sa.Column("alertmanager_url", sa.String(300), nullable=True),
        sa.Column("matchers", JSON_DOC, nullable=False),
        sa.Column("service", sa.String(63), nullable=True),
        sa.Column("env", sa.String(63), nullable=True),
        sa.Column("rollback_id", sa.BigInteger(), nullable=True),
        sa.Column("group_id", sa.BigInteger(), nullable=True),
        sa.Column("incident_id", sa.BigInteger(), nullable=True),
        sa.Column("created_by", sa.String(40), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("until_resolved", sa.Boolean(), nullable=False),
        sa.Column("starts_at", TS, nullable=False),
        sa.Column("ends_at", TS, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expired_at", TS, nullable=True),
        sa.Column("expired_by", sa.String(40), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_silences")),
        sa.UniqueConstraint("slot", name=op.f("uq_silences_slot")),
    )
    op.create_index("ix_silences_rollback_id", "silences", ["rollback_id"])
    op.create_index("ix_silences_group_id", "silences", ["group_id"])
    op.create_index("ix_silences_incident_id", "silences", ["incident_id"])
    op.create_table(
        "deploy_gate_overrides",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("service", sa.String(63), nullable=False),
        sa.Column("env", sa.String(63), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(40), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("incidents", JSON_DOC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deploy_gate_overrides")),
    )
    op.create_index(
        "ix_deploy_gate_overrides_service_env_expires",
        "deploy_gate_overrides",
        ["service", "env", "expires_at"],
    )


def downgrade() -> None:
    """Drop both tables."""
    op.drop_table("deploy_gate_overrides")
    op.drop_table("silences")
