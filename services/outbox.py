"""Marks the figure buckets a write touched, in the write's own transaction (the outbox)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import orjson
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from services.models import MetricMark

TOUCHED = "figures_touched"


def touched(session: Session) -> bool:
    """Whether this unit of work marked any bucket (read before commit, used after)."""
    return bool(session.info.get(TOUCHED))


def flag(session: Session) -> None:
    """Note that this unit of work marked buckets: the edge that commits it reads the flag and
    wakes the worker after the commit."""
    session.info[TOUCHED] = True


def mark(session: Session, buckets: Iterable[tuple[str, date]]) -> None:
    """Record (leaf region, local month) buckets whose figures must be recomputed."""
    rows = [{"region_code": r, "month": m} for r, m in sorted(set(buckets))]
    if not rows:
        return
    flag(session)
    # A plain insert takes no lock another writer could wait for; duplicates are cheap. On the
    # table with a list of rows: one cached statement (sent as one multi-row INSERT), not the
    # ORM's bulk machinery and a new compile for every number of rows.
    session.execute(insert(MetricMark.__table__), rows)


# The marks as a part of a larger write statement (`WITH marks AS (…)`), for a write that is
# one statement: its marks commit with it, and no round trip is spent on them.
MARKS_CTE = (
    "marks AS (INSERT INTO metric_marks (region_code, month) SELECT region_code, month "
    "FROM json_populate_recordset(NULL::metric_marks, CAST(:marks AS json)))"
)


def marks_params(buckets: Iterable[tuple[str, date]]) -> dict[str, str]:
    """The parameter of MARKS_CTE: each distinct bucket once, as JSON rows."""
    rows = [{"region_code": r, "month": m} for r, m in sorted(set(buckets))]
    return {"marks": orjson.dumps(rows).decode()}
