"""units: the spans a reopened unit was closed (closed_gaps), taken from its status history

The roster was one interval [operating_since, closed_on), and reopening a unit cleared
closed_on: the unit came back onto the roster of every quarter it had spent closed, as a
required unit that never filed. `closed_gaps` keeps those spans. Units reopened before this
migration get theirs from unit_status_changes: each closing up to the next change to another
status.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 11:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("units", sa.Column("closed_gaps", postgresql.DATEMULTIRANGE(), nullable=True))
    op.execute(
        """
        WITH changes AS (
            SELECT unit_id, status, since,
                   lead(status) OVER w AS next_status, lead(since) OVER w AS next_since
            FROM unit_status_changes
            WINDOW w AS (PARTITION BY unit_id ORDER BY recorded_at, id)
        ),
        gaps AS (
            SELECT unit_id, range_agg(daterange(since, next_since)) AS spans
            FROM changes
            WHERE status = 'closed' AND next_status <> 'closed'
              AND since IS NOT NULL AND next_since > since
            GROUP BY unit_id
        )
        UPDATE units u SET closed_gaps = gaps.spans FROM gaps WHERE u.id = gaps.unit_id
        """
    )


def downgrade() -> None:
    op.drop_column("units", "closed_gaps")
