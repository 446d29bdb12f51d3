"""faithful: delivery failures, people, alert state (issue #15)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    # Who caused an outbox item, so a permanent failure reaches them (response_url while fresh, else DM).
    with op.batch_alter_table("slack_outbox") as batch:
        batch.add_column(sa.Column("caused_by", sa.String(32), nullable=True))
        batch.add_column(sa.Column("response_url", sa.Text(), nullable=True))
    # Why Slack refused the incident channel (None once it exists or while it is being created).
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("channel_error", sa.String(200), nullable=True))
    # Alerts Alertmanager left out of its last notification for the group (truncatedAlerts).
    with op.batch_alter_table("alert_groups") as batch:
        batch.add_column(sa.Column("truncated", sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "people",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("real_name", sa.String(200), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_people")),
    )


def downgrade() -> None:
    op.drop_table("people")
    with op.batch_alter_table("alert_groups") as batch:
        batch.drop_column("truncated")
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("channel_error")
    with op.batch_alter_table("slack_outbox") as batch:
        batch.drop_column("response_url")
        batch.drop_column("caused_by")
