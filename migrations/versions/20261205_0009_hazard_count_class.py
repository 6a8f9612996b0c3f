"""hazards: how each counts (count_class, overdue_after), kept with the row and in the index

The figures' state rules (services/metrics/definitions.py) become two generated columns: a
hazard's count class (voided, closed on time, closed late, open) and the instant after which it
is overdue. The index on (region_code, found_month) carries them with the level, so the
recompute counts hazards from the index alone instead of walking each row to its timestamps.

Adding a stored generated column rewrites the table under an exclusive lock (55 s for 10
million hazards on the benchmark machine): run it in a quiet hour.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 14:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The rules as they were at this revision (a migration does not follow later code).
COUNT_CLASS = (
    "CASE WHEN status = 'voided' THEN 0 "
    "WHEN status = 'closed' AND (deadline IS NULL OR closed_at <= deadline) THEN 1 "
    "WHEN status = 'closed' THEN 2 ELSE 3 END"
)
OVERDUE_AFTER = (
    "CASE WHEN status IN ('reported', 'rectifying', 'rectified') "
    "AND NOT (status = 'rectified' AND submitted_at IS NOT NULL "
    "AND submitted_at <= deadline) THEN deadline END"
)


def upgrade() -> None:
    # The index goes first: the rewrite below rebuilds every index of the table, and this one
    # is built again with its new columns after it. One ALTER, so the table is rewritten once.
    op.drop_index("ix_hazards_region_month", table_name="hazards")
    op.execute(
        f"ALTER TABLE hazards "
        f"ADD COLUMN count_class smallint GENERATED ALWAYS AS ({COUNT_CLASS}) STORED, "
        f"ADD COLUMN overdue_after timestamptz GENERATED ALWAYS AS ({OVERDUE_AFTER}) STORED"
    )
    op.create_index(
        "ix_hazards_region_month",
        "hazards",
        ["region_code", "found_month"],
        postgresql_include=["level", "count_class", "overdue_after"],
    )


def downgrade() -> None:
    op.drop_index("ix_hazards_region_month", table_name="hazards")
    op.create_index("ix_hazards_region_month", "hazards", ["region_code", "found_month"])
    op.drop_column("hazards", "overdue_after")
    op.drop_column("hazards", "count_class")
