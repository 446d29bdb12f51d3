"""paging: PagerDuty pages (issue #18)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "pagerduty_pages",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("incident_id", BIG_ID, nullable=False),
        sa.Column("team", sa.String(64), nullable=False),
        sa.Column("dedup_key", sa.String(200), nullable=False),
        sa.Column("requested_by", sa.String(32), nullable=False),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("accepted_at", TS, nullable=True),
        sa.Column("failed_at", TS, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("alerted_at", TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_pagerduty_pages_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pagerduty_pages")),
        sa.UniqueConstraint("dedup_key", name=op.f("uq_pagerduty_pages_dedup_key")),
        sa.UniqueConstraint("incident_id", "team", name=op.f("uq_pagerduty_pages_incident_id_team")),
    )
    op.create_index("ix_pagerduty_pages_state_created", "pagerduty_pages", ["state", "created_at"])
    op.create_table(
        "pagerduty_events",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("page_id", BIG_ID, nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("body", JSON_DOC, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("not_before", TS, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("sent_at", TS, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("lease_owner", sa.String(64), nullable=True),
        sa.Column("lease_until", TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["page_id"],
            ["pagerduty_pages.id"],
            name=op.f("fk_pagerduty_events_page_id_pagerduty_pages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pagerduty_events")),
    )
    op.create_index(
        "ix_pagerduty_events_pending",
        "pagerduty_events",
        ["page_id", "id"],
        postgresql_where=sa.text("status = 'pending'"),
        sqlite_where=sa.text("status = 'pending'"),
    )


def downgrade() -> None:
    op.drop_index("ix_pagerduty_events_pending", table_name="pagerduty_events")
    op.drop_table("pagerduty_events")
    op.drop_index("ix_pagerduty_pages_state_created", table_name="pagerduty_pages")
    op.drop_table("pagerduty_pages")
