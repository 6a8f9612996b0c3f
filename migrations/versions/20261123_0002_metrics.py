"""metrics: figure cells (live and frozen), frozen quarters and rosters, task runs

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 14:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNTS = (
    "found_general",
    "found_major",
    "closed_general",
    "closed_major",
    "closed_on_time_general",
    "closed_on_time_major",
    "overdue_general",
    "overdue_major",
    "inspections",
    "units_inspected",
    "roster_units",
    "required_units",
    "reports_filed",
    "reports_on_time",
    "reports_self",
    "reports_zero",
)


def upgrade() -> None:
    op.create_table(
        "metric_cells",
        sa.Column("view", sa.String(length=10), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("region_code", sa.String(length=12), nullable=False),
        *[
            sa.Column(name, sa.Integer(), server_default=sa.text("0"), nullable=False)
            for name in COUNTS
        ],
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("view IN ('live', 'frozen')", name=op.f("ck_metric_cells_view")),
        sa.PrimaryKeyConstraint("view", "period", "region_code", name=op.f("pk_metric_cells")),
    )
    op.create_table(
        "frozen_quarters",
        sa.Column("quarter", sa.String(length=6), nullable=False),
        sa.Column("cutoff", sa.DateTime(timezone=True), nullable=False),
        sa.Column("frozen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("quarter", name=op.f("pk_frozen_quarters")),
    )
    op.create_table(
        "frozen_roster",
        sa.Column("quarter", sa.String(length=6), nullable=False),
        sa.Column("unit_id", sa.Uuid(), nullable=False),
        sa.Column("region_code", sa.String(length=12), nullable=False),
        sa.Column("reporting_required", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("quarter", "unit_id", name=op.f("pk_frozen_roster")),
    )
    op.create_table(
        "task_runs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("params", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'running', 'succeeded', 'failed')",
            name=op.f("ck_task_runs_status"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_runs")),
    )


def downgrade() -> None:
    op.drop_table("task_runs")
    op.drop_table("frozen_roster")
    op.drop_table("frozen_quarters")
    op.drop_table("metric_cells")
