"""metric versions: a stamp per (view, period, township) that moves with every commit of cells

The dashboard's reads cache summed cells per process and must never serve figures older than
the last committed recompute. Statement triggers on metric_cells give every (view, period,
township) they touch a fresh value of a sequence, drawn after the row is locked, so each
commit that changes cells strictly raises the sum of the stamps under it (and a reset of the
table shows as a new maximum). A reader compares (count, sum, max) of the stamps under its
region with the ones it cached; one indexed range of a few rows instead of the cells' sums.

Writers of one township's live cells already hold its advisory lock, and freezes of one
quarter theirs, so the stamp rows add no waiting between them. Triggers do not fire under
session_replication_role = replica, nor on TRUNCATE: bulk loads that write cells that way
must not run beside a serving API.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 16:55:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BUMP = """
CREATE FUNCTION metric_versions_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- In key order, so two writers of overlapping keys lock the stamp rows in one order.
    INSERT INTO metric_versions AS v (view, period, township, stamp)
    SELECT k.view, k.period, k.township, nextval('metric_version_stamps')
    FROM (SELECT DISTINCT view, period, left(region_code, 9) AS township FROM changed) k
    ORDER BY k.view, k.period, k.township
    ON CONFLICT (view, period, township)
    DO UPDATE SET stamp = nextval('metric_version_stamps');
    RETURN NULL;
END $$
"""


def upgrade() -> None:
    op.create_table(
        "metric_versions",
        sa.Column("view", sa.String(10), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("township", sa.String(9, collation="C"), nullable=False),
        sa.Column("stamp", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("view", "period", "township", name="pk_metric_versions"),
    )
    op.execute("CREATE SEQUENCE metric_version_stamps")
    op.execute(_BUMP)
    # Keys never change in an UPDATE (the upsert keeps them), so the new rows name them all.
    for event, table in (("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD")):
        op.execute(
            f"CREATE TRIGGER metric_cells_{event.lower()}_stamp AFTER {event} ON metric_cells "
            f"REFERENCING {table} TABLE AS changed "
            "FOR EACH STATEMENT EXECUTE FUNCTION metric_versions_bump()"
        )
    # Stamp what is there already, so the first reads have something to compare.
    op.execute(
        "INSERT INTO metric_versions (view, period, township, stamp) "
        "SELECT view, period, left(region_code, 9), nextval('metric_version_stamps') "
        "FROM (SELECT DISTINCT view, period, region_code FROM metric_cells) c "
        "ON CONFLICT DO NOTHING"
    )


def downgrade() -> None:
    for event in ("insert", "update", "delete"):
        op.execute(f"DROP TRIGGER metric_cells_{event}_stamp ON metric_cells")
    op.execute("DROP FUNCTION metric_versions_bump()")
    op.execute("DROP SEQUENCE metric_version_stamps")
    op.drop_table("metric_versions")
