"""cloud run: rollbacks, locks, runbook runs

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)
JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "lease_locks",
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("holder", sa.String(200), nullable=False),
        sa.Column("info", JSON_DOC, nullable=False),
        sa.Column("acquired_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_lease_locks")),
    )
    op.create_table(
        "rollbacks",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("request_key", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("service", sa.String(63), nullable=False),
        sa.Column("env", sa.String(63), nullable=False),
        sa.Column("channel_id", sa.String(40), nullable=False),
        sa.Column("requested_by", sa.String(40), nullable=False),
        sa.Column("request", JSON_DOC, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("step", sa.String(32), nullable=True),
        sa.Column("plan", JSON_DOC, nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("confirmed_by", sa.String(40), nullable=True),
        sa.Column("incident_id", sa.BigInteger(), nullable=True),
        sa.Column("runbook_run_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("started_at", TS, nullable=True),
        sa.Column("finished_at", TS, nullable=True),
        sa.Column("lease_until", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rollbacks")),
        sa.UniqueConstraint("request_key", name=op.f("uq_rollbacks_request_key")),
    )
    op.create_index("ix_rollbacks_service_env_created", "rollbacks", ["service", "env", "created_at"])
    op.create_index("ix_rollbacks_status", "rollbacks", ["status"])
    op.create_table(
        "rollback_events",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("rollback_id", BIG_ID, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(40), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("data", JSON_DOC, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["rollback_id"],
            ["rollbacks.id"],
            name=op.f("fk_rollback_events_rollback_id_rollbacks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rollback_events")),
    )
    op.create_index("ix_rollback_events_rollback_id", "rollback_events", ["rollback_id"])
    op.create_table(
        "runbook_runs",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("request_key", sa.String(200), nullable=False),
        sa.Column("runbook", sa.String(100), nullable=False),
        sa.Column("definition", JSON_DOC, nullable=False),
        sa.Column("service", sa.String(63), nullable=False),
        sa.Column("env", sa.String(63), nullable=False),
        sa.Column("channel_id", sa.String(40), nullable=False),
        sa.Column("requested_by", sa.String(40), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("confirmed_position", sa.Integer(), nullable=True),
        sa.Column("incident_id", sa.BigInteger(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("lease_until", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("finished_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_runbook_runs")),
        sa.UniqueConstraint("request_key", name=op.f("uq_runbook_runs_request_key")),
    )
    op.create_index("ix_runbook_runs_status", "runbook_runs", ["status"])
    op.create_table(
        "runbook_step_results",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("run_id", BIG_ID, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("step_id", sa.String(64), nullable=False),
        sa.Column("use", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("data", JSON_DOC, nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("finished_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["runbook_runs.id"],
            name=op.f("fk_runbook_step_results_run_id_runbook_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_runbook_step_results")),
        sa.UniqueConstraint("run_id", "position", name=op.f("uq_runbook_step_results_run_id_position")),
    )


def downgrade() -> None:
    op.drop_table("runbook_step_results")
    op.drop_index("ix_runbook_runs_status", table_name="runbook_runs")
    op.drop_table("runbook_runs")
    op.drop_index("ix_rollback_events_rollback_id", table_name="rollback_events")
    op.drop_table("rollback_events")
    op.drop_index("ix_rollbacks_status", table_name="rollbacks")
    op.drop_index("ix_rollbacks_service_env_created", table_name="rollbacks")
    op.drop_table("rollbacks")
    op.drop_table("lease_locks")
