"""inspections: index (unit_id, inspected_month) in place of (unit_id)

Coverage (units inspected at least once in a period) is counted by unit, wherever the
inspection was recorded. With the month in the index, the months in which a unit was
inspected are an index-only scan, where the index on unit_id alone fetched every inspection's
row. The old index is a prefix of the new one, so nothing else loses by dropping it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 19:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_inspections_unit_month", "inspections", ["unit_id", "inspected_month"], unique=False
    )
    op.drop_index("ix_inspections_unit_id", table_name="inspections")


def downgrade() -> None:
    op.create_index("ix_inspections_unit_id", "inspections", ["unit_id"], unique=False)
    op.drop_index("ix_inspections_unit_month", table_name="inspections")
