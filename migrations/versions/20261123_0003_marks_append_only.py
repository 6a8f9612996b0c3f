"""marks append only: one row per write instead of one locked row per bucket

An upsert on (region_code, month) made concurrent writes to the same bucket queue on that row's
lock until the earlier writer committed; under load the API's thread pool filled with writers
waiting for transactions that needed a thread to commit. Plain inserts take no such lock.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 15:14:26.800199
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_constraint("pk_metric_marks", "metric_marks", type_="primary")
    op.execute("ALTER TABLE metric_marks ADD COLUMN id BIGSERIAL")
    op.create_primary_key("pk_metric_marks", "metric_marks", ["id"])


def downgrade() -> None:
    # Back to one row per bucket: keep the latest mark of each.
    op.execute(
        "DELETE FROM metric_marks m USING metric_marks n "
        "WHERE m.region_code = n.region_code AND m.month = n.month AND m.id < n.id"
    )
    op.drop_constraint("pk_metric_marks", "metric_marks", type_="primary")
    op.drop_column("metric_marks", "id")
    op.create_primary_key("pk_metric_marks", "metric_marks", ["region_code", "month"])
