"""The hazards table's generated count_class and overdue_after follow the figures' rules.

The rules below are domain.md's, written out here on their own: a hazard is found unless voided,
closed once verified or fixed on the spot, closed on time when closed by its deadline (or with
none), and overdue at a cut-off when open past its deadline and not awaiting verification of a
fix submitted by the deadline. Every combination of state and times is written into a copy of
`hazards` (with its generated columns as the migrations made them) and counted through the
predicates the figures use; the frozen view's form of the same columns is checked beside it.
"""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from services.metrics import definitions as d

DEADLINE = datetime(2026, 6, 30, 12, tzinfo=UTC)
HOUR = timedelta(hours=1)
TIMES = [None, DEADLINE - HOUR, DEADLINE, DEADLINE + HOUR]
STATES = ["reported", "rectifying", "rectified", "closed", "voided"]
CUTOFFS = [DEADLINE - HOUR, DEADLINE, DEADLINE + HOUR]


def expected(state, deadline, closed_at, submitted_at, cutoff) -> dict[str, bool]:
    closed = state == "closed"
    awaiting_timely_fix = (
        state == "rectified" and None not in (submitted_at, deadline) and submitted_at <= deadline
    )
    return {
        "found": state != "voided",
        "closed": closed,
        "closed_on_time": closed and (deadline is None or closed_at <= deadline),
        "overdue": state in ("reported", "rectifying", "rectified")
        and deadline is not None
        and deadline < cutoff
        and not awaiting_timely_fix,
    }


def test_generated_columns_count_every_state_as_the_rules_say(session):
    session.execute(text("CREATE TEMP TABLE h (LIKE hazards INCLUDING ALL) ON COMMIT DROP"))
    cases = []
    for state, deadline, closed_at, submitted_at in itertools.product(
        STATES, [None, DEADLINE], TIMES, TIMES
    ):
        if state == "closed" and closed_at is None:
            continue  # a closed hazard always has its closure time
        cases.append(
            {
                "id": uuid.uuid4(),
                "status": state,
                "deadline": deadline,
                "closed_at": closed_at,
                "submitted_at": submitted_at,
                "handling": "deadline" if deadline else "on_the_spot",
            }
        )
    session.execute(
        text(
            """
            INSERT INTO h (id, unit_id, region_code, source, level, category, description,
                           handling, found_at, found_month, status, deadline, closed_at,
                           submitted_at, request_hash)
            VALUES (:id, :id, '330101001001', 'inspection', 'general', 'fire', '-', :handling,
                    '2026-06-01T00:00:00Z', '2026-06-01', :status, :deadline, :closed_at,
                    :submitted_at, '-')
            """
        ),
        cases,
    )
    predicates = ", ".join(f"{sql} AS {name}" for name, sql in d.HAZARD_PREDICATES.items())
    # The frozen view's form: the same rules over the state it rebuilds from the events.
    frozen = (
        f"{d.count_class('s.status', 's.deadline', 's.closed_at')} AS frozen_class, "
        f"{d.overdue_after('s.status', 's.deadline', 's.submitted_at')} AS frozen_after"
    )
    checked = 0
    for cutoff in CUTOFFS:
        rows = session.execute(
            text(f"SELECT s.id, s.count_class, s.overdue_after, {frozen}, {predicates} FROM h s"),
            {"cutoff": cutoff},
        ).mappings()
        by_id = {c["id"]: c for c in cases}
        for row in rows:
            case = by_id[row["id"]]
            want = expected(
                case["status"], case["deadline"], case["closed_at"], case["submitted_at"], cutoff
            )
            got = {name: bool(row[name]) for name in d.HAZARD_PREDICATES}
            assert got == want, (case, cutoff)
            assert (row["frozen_class"], row["frozen_after"]) == (
                row["count_class"],
                row["overdue_after"],
            ), case
            checked += 1
    assert checked == 3 * len(cases) > 300
