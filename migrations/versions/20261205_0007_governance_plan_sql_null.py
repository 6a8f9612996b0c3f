"""hazards: a missing governance plan is SQL NULL on every write path

The hot POST and /sync's COPY stored a hazard without a plan as SQL NULL, while the ORM (a
self-report's hazards, the demo data) stored the JSON value null, so `governance_plan IS NULL`
missed some hazards without a plan. The model now stores None as SQL NULL; this turns the JSON
nulls already stored into SQL NULL. It reads the whole hazards table once (there is no index
on the plan) and rewrites only the rows that hold a JSON null.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 07:50:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("UPDATE hazards SET governance_plan = NULL WHERE governance_plan = 'null'::jsonb")


def downgrade() -> None:
    # Nothing to undo: both forms mean "no plan", and the code before 0007 reads either.
    pass
