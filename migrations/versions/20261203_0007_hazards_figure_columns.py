"""hazards: the figures' columns in the (region_code, found_month) index

A full recompute counts each region's hazards by month with the level, state, deadline,
closure and submission of each. With those columns included in the index it already reads by
region and month, the counts come from the index alone (an entry of ~70 bytes, where the row
is ~290): a province slice's cells statement took ~10 % less CPU (BENCHMARKS.md, figure 1).
Updates lose nothing they had: a change of state or deadline was never a HOT update, since
the partial index on open deadlines names both.

The index is built before the old one is dropped, under the same name, in one transaction;
on a large table the build blocks writes to hazards for its duration (18 s for 10 million).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 14:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FIGURE_COLUMNS = ["level", "status", "deadline", "closed_at", "submitted_at"]


def _replace(include: list[str]) -> None:
    op.create_index(
        "ix_hazards_region_month_new",
        "hazards",
        ["region_code", "found_month"],
        unique=False,
        postgresql_include=include,
    )
    op.drop_index("ix_hazards_region_month", table_name="hazards")
    op.execute("ALTER INDEX ix_hazards_region_month_new RENAME TO ix_hazards_region_month")


def upgrade() -> None:
    _replace(FIGURE_COLUMNS)


def downgrade() -> None:
    _replace([])
