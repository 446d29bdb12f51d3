"""alerts: alert occurrences, alert groups, group membership

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)
JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("dedup_key", sa.String(255), nullable=False),
        sa.Column("starts_at", TS, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("ends_at", TS, nullable=True),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("title", sa.String(500), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("service", sa.String(100), nullable=True),
        sa.Column("severity", sa.String(32), nullable=True),
        sa.Column("env", sa.String(64), nullable=True),
        sa.Column("runbook", sa.String(100), nullable=True),
        sa.Column("labels", JSON_DOC, nullable=False),
        sa.Column("annotations", JSON_DOC, nullable=False),
        sa.Column("links", JSON_DOC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
        sa.UniqueConstraint(
            "source", "dedup_key", "starts_at", name=op.f("uq_alerts_source_dedup_key_starts_at")
        ),
    )
    op.create_index(
        "uq_alerts_open",
        "alerts",
        ["source", "dedup_key"],
        unique=True,
        postgresql_where=sa.text("status = 'firing'"),
        sqlite_where=sa.text("status = 'firing'"),
    )
    op.create_table(
        "alert_groups",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("channel", sa.String(100), nullable=False),
        sa.Column("group_key", sa.String(64), nullable=False),
        sa.Column("route", sa.String(100), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("title", sa.String(500), nullable=False),
        sa.Column("service", sa.String(100), nullable=True),
        sa.Column("env", sa.String(64), nullable=True),
        sa.Column("severity", sa.String(4), nullable=False),
        sa.Column("mention", sa.String(32), nullable=True),
        sa.Column("runbook", sa.String(100), nullable=True),
        sa.Column("group_labels", JSON_DOC, nullable=False),
        sa.Column("firing", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("first_seen", TS, nullable=False),
        sa.Column("last_ended_at", TS, nullable=True),
        sa.Column("resolved_at", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("rendered_version", sa.Integer(), nullable=False),
        sa.Column("next_render_at", TS, nullable=False),
        sa.Column("last_write_key", sa.String(200), nullable=True),
        sa.Column("acked_by", sa.String(32), nullable=True),
        sa.Column("acked_at", TS, nullable=True),
        sa.Column("incident_id", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_groups")),
    )
    op.create_index(
        "uq_alert_groups_open",
        "alert_groups",
        ["channel", "group_key"],
        unique=True,
        postgresql_where=sa.text("resolved_at IS NULL"),
        sqlite_where=sa.text("resolved_at IS NULL"),
    )
    op.create_index(
        "ix_alert_groups_dirty",
        "alert_groups",
        ["next_render_at"],
        postgresql_where=sa.text("version > rendered_version"),
        sqlite_where=sa.text("version > rendered_version"),
    )
    op.create_index("ix_alert_groups_service", "alert_groups", ["service"])
    op.create_table(
        "alert_group_members",
        sa.Column("group_id", BIG_ID, nullable=False),
        sa.Column("alert_id", BIG_ID, nullable=False),
        sa.Column("reported", sa.SmallInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["alert_groups.id"],
            name=op.f("fk_alert_group_members_group_id_alert_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["alerts.id"],
            name=op.f("fk_alert_group_members_alert_id_alerts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("group_id", "alert_id", name=op.f("pk_alert_group_members")),
    )
    op.create_index("ix_alert_group_members_alert_id", "alert_group_members", ["alert_id"])


def downgrade() -> None:
    op.drop_index("ix_alert_group_members_alert_id", table_name="alert_group_members")
    op.drop_table("alert_group_members")
    op.drop_index("ix_alert_groups_service", table_name="alert_groups")
    op.drop_index("ix_alert_groups_dirty", table_name="alert_groups")
    op.drop_index("uq_alert_groups_open", table_name="alert_groups")
    op.drop_table("alert_groups")
    op.drop_index("uq_alerts_open", table_name="alerts")
    op.drop_table("alerts")
