"""deploys: deploy events, their incident links, the Cloud Run watcher's state

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)
JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "deploys",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("service", sa.String(63), nullable=False),
        sa.Column("env", sa.String(63), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("revision", sa.String(100), nullable=True),
        sa.Column("image", sa.String(500), nullable=True),
        sa.Column("commit_sha", sa.String(64), nullable=True),
        sa.Column("commit_url", sa.String(500), nullable=True),
        sa.Column("author", sa.String(200), nullable=True),
        sa.Column("pipeline_url", sa.String(500), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("traffic", JSON_DOC, nullable=True),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("finished_at", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deploys")),
        sa.UniqueConstraint("service", "env", "key", name=op.f("uq_deploys_service_env_key")),
        sa.UniqueConstraint("service", "env", "revision", name=op.f("uq_deploys_service_env_revision")),
    )
    op.create_index("ix_deploys_service_started", "deploys", ["service", "started_at"])
    op.create_index("ix_deploys_started", "deploys", ["started_at"])
    op.create_table(
        "deploy_links",
        sa.Column("deploy_id", BIG_ID, nullable=False),
        sa.Column("incident_id", BIG_ID, nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["deploy_id"],
            ["deploys.id"],
            name=op.f("fk_deploy_links_deploy_id_deploys"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_deploy_links_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("deploy_id", "incident_id", name=op.f("pk_deploy_links")),
    )
    op.create_index("ix_deploy_links_incident_id", "deploy_links", ["incident_id"])
    op.create_table(
        "deploy_watch",
        sa.Column("service", sa.String(63), nullable=False),
        sa.Column("env", sa.String(63), nullable=False),
        sa.Column("state", JSON_DOC, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("next_poll_at", TS, nullable=False),
        sa.Column("polled_at", TS, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("service", "env", name=op.f("pk_deploy_watch")),
    )


def downgrade() -> None:
    op.drop_table("deploy_watch")
    op.drop_index("ix_deploy_links_incident_id", table_name="deploy_links")
    op.drop_table("deploy_links")
    op.drop_index("ix_deploys_started", table_name="deploys")
    op.drop_index("ix_deploys_service_started", table_name="deploys")
    op.drop_table("deploys")
