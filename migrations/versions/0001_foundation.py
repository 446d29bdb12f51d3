"""foundation: Slack outbox, lanes, delivered refs, inbound idempotency keys

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)
JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "inbound_keys",
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_inbound_keys")),
    )
    op.create_table(
        "slack_lanes",
        sa.Column("lane", sa.String(200), nullable=False),
        sa.Column("next_at", TS, nullable=False),
        sa.Column("tokens", sa.Double(), nullable=False),
        sa.Column("tokens_at", TS, nullable=False),
        sa.Column("lease_owner", sa.String(64), nullable=True),
        sa.Column("lease_until", TS, nullable=True),
        sa.PrimaryKeyConstraint("lane", name=op.f("pk_slack_lanes")),
    )
    op.create_table(
        "slack_outbox",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("lane", sa.String(200), nullable=False),
        sa.Column("method", sa.String(64), nullable=False),
        sa.Column("payload", JSON_DOC, nullable=False),
        sa.Column("produces", sa.String(200), nullable=True),
        sa.Column("target", sa.String(200), nullable=True),
        sa.Column("dedup_key", sa.String(200), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("not_before", TS, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("sent_at", TS, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("result", JSON_DOC, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slack_outbox")),
        sa.UniqueConstraint("dedup_key", name=op.f("uq_slack_outbox_dedup_key")),
    )
    op.create_index(
        "ix_slack_outbox_lane_pending",
        "slack_outbox",
        ["lane", "id"],
        postgresql_where=sa.text("status = 'pending'"),
        sqlite_where=sa.text("status = 'pending'"),
    )
    op.create_index("ix_slack_outbox_produces", "slack_outbox", ["produces"])
    op.create_table(
        "slack_refs",
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("channel_id", sa.String(40), nullable=False),
        sa.Column("ts", sa.String(40), nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_slack_refs")),
    )


def downgrade() -> None:
    op.drop_table("slack_refs")
    op.drop_index("ix_slack_outbox_produces", table_name="slack_outbox")
    op.drop_index("ix_slack_outbox_lane_pending", table_name="slack_outbox")
    op.drop_table("slack_outbox")
    op.drop_table("slack_lanes")
    op.drop_table("inbound_keys")
