"""The outbox of figure marks: written with the change, never a lock other writers wait on."""

from __future__ import annotations

from datetime import date

from sqlalchemy import text

from services import outbox
from services.db import new_session
from services.metrics import refresh
from tests.builders import VILLAGE_A1, make_region_tree

BUCKET = (VILLAGE_A1, date(2026, 10, 1))


def test_two_open_transactions_mark_the_same_bucket_without_waiting():
    make_region_tree()
    first, second = new_session(), new_session()
    try:
        outbox.mark(first, [BUCKET])  # not committed: an upsert would hold the bucket's row lock
        second.execute(text("SET LOCAL lock_timeout = '1s'"))
        outbox.mark(second, [BUCKET])  # would raise LockNotAvailable if it had to wait
        second.commit()
        first.commit()
    finally:
        first.close()
        second.close()
    with new_session() as s:
        assert s.execute(text("SELECT count(*) FROM metric_marks")).scalar_one() == 2


def test_recompute_deletes_only_the_marks_it_took():
    make_region_tree()
    with new_session() as s:
        outbox.mark(s, [BUCKET])
        s.commit()
    worker = new_session()
    late = new_session()
    try:
        assert refresh.recompute_marked(worker) == 1  # took the first mark, not yet committed
        outbox.mark(late, [BUCKET])  # a write committed while the recompute runs
        late.commit()
        worker.commit()
    finally:
        worker.close()
        late.close()
    with new_session() as s:
        # The late mark survives: its write may not be in the cells just computed.
        assert s.execute(text("SELECT count(*) FROM metric_marks")).scalar_one() == 1
