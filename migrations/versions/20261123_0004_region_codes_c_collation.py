"""region codes in the C collation, so subtree prefixes (LIKE '3301%') use the b-tree indexes

Under the database's default collation (C.UTF-8 here, often en_US elsewhere) PostgreSQL serves
`region_code LIKE 'prefix%'` only by scanning; under "C" it turns it into an index range.
Codes are digits, so their order is the same either way.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 15:18:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = [
    ("regions", "code"),
    ("regions", "parent_code"),
    ("units", "region_code"),
    ("users", "region_code"),
    ("campaigns", "region_code"),
    ("inspections", "region_code"),
    ("hazards", "region_code"),
    ("self_reports", "region_code"),
    ("metric_cells", "region_code"),
    ("frozen_roster", "region_code"),
    ("metric_marks", "region_code"),
]


def _collate(collation: str) -> None:
    for table, column in COLUMNS:
        op.execute(
            f'ALTER TABLE {table} ALTER COLUMN {column} TYPE varchar(12) COLLATE "{collation}"'
        )


def upgrade() -> None:
    _collate("C")


def downgrade() -> None:
    _collate("default")
