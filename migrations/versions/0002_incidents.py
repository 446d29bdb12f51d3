"""incidents: incidents, timeline events, roles, action items

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)
JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("severity", sa.String(2), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("service", sa.String(64), nullable=True),
        sa.Column("commander", sa.String(32), nullable=True),
        sa.Column("comms", sa.String(32), nullable=True),
        sa.Column("declared_by", sa.String(32), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("origin", sa.String(200), nullable=True),
        sa.Column("dedup_key", sa.String(200), nullable=True),
        sa.Column("channel_name", sa.String(80), nullable=False),
        sa.Column("channel_id", sa.String(40), nullable=True),
        sa.Column("declared_at", TS, nullable=False),
        sa.Column("impact_started_at", TS, nullable=True),
        sa.Column("acknowledged_at", TS, nullable=True),
        sa.Column("acknowledged_by", sa.String(32), nullable=True),
        sa.Column("mitigated_at", TS, nullable=True),
        sa.Column("mitigated_by", sa.String(32), nullable=True),
        sa.Column("resolved_at", TS, nullable=True),
        sa.Column("resolved_by", sa.String(32), nullable=True),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("last_update_at", TS, nullable=False),
        sa.Column("last_update_text", sa.Text(), nullable=True),
        sa.Column("next_reminder_at", TS, nullable=True),
        sa.Column("reminders_sent", sa.Integer(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
        sa.UniqueConstraint("dedup_key", name=op.f("uq_incidents_dedup_key")),
    )
    op.create_index("ix_incidents_status_severity", "incidents", ["status", "severity"])
    op.create_index("ix_incidents_service_status", "incidents", ["service", "status"])
    op.create_index("ix_incidents_channel_id", "incidents", ["channel_id"])
    op.create_index("ix_incidents_next_reminder_at", "incidents", ["next_reminder_at"])

    op.create_table(
        "incident_events",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("incident_id", BIG_ID, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(64), nullable=True),
        sa.Column("occurred_at", TS, nullable=False),
        sa.Column("recorded_at", TS, nullable=False),
        sa.Column("data", JSON_DOC, nullable=False),
        sa.Column("dedup_key", sa.String(200), nullable=True),
        sa.Column("pending_fetch", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_incident_events_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_events")),
        sa.UniqueConstraint(
            "incident_id", "dedup_key", name=op.f("uq_incident_events_incident_id_dedup_key")
        ),
    )
    op.create_index("ix_incident_events_incident_occurred", "incident_events", ["incident_id", "occurred_at"])
    op.create_index(
        "ix_incident_events_pending_fetch",
        "incident_events",
        ["id"],
        postgresql_where=sa.text("pending_fetch"),
        sqlite_where=sa.text("pending_fetch"),
    )

    op.create_table(
        "incident_action_items",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("incident_id", BIG_ID, nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("owner", sa.String(32), nullable=True),
        sa.Column("created_by", sa.String(32), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_incident_action_items_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_action_items")),
    )
    op.create_index("ix_incident_action_items_incident", "incident_action_items", ["incident_id"])


def downgrade() -> None:
    op.drop_index("ix_incident_action_items_incident", table_name="incident_action_items")
    op.drop_table("incident_action_items")
    op.drop_index("ix_incident_events_pending_fetch", table_name="incident_events")
    op.drop_index("ix_incident_events_incident_occurred", table_name="incident_events")
    op.drop_table("incident_events")
    op.drop_index("ix_incidents_next_reminder_at", table_name="incidents")
    op.drop_index("ix_incidents_channel_id", table_name="incidents")
    op.drop_index("ix_incidents_service_status", table_name="incidents")
    op.drop_index("ix_incidents_status_severity", table_name="incidents")
    op.drop_table("incidents")
