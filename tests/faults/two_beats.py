"""Two beat processes at once: no quarter frozen twice, no task run twice with a visible effect.

    python -m tests.faults.two_beats [--seconds 35]

The deployment runs exactly one beat, but a botched rollout (an old pod still up, a second host
with the unit enabled) runs two, and every scheduled task is then sent twice. Freezing and the
catch-up must make that harmless: the freeze takes an advisory lock and inserts its
frozen_quarters row with ON CONFLICT DO NOTHING, so the second send finds the quarter frozen and
writes nothing. The beats check for due quarters every 5 s here
(HAZARDTRACK_FREEZE_CHECK_SECONDS) instead of hourly, and past quarters with records are due.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import signal
import sys
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import httpx

from tests.faults.common import Writers
from tests.faults.harness import Results, Stack, live_cells, marks_pending, seed

CST = timezone(timedelta(hours=8))
BEATS = ("beat1", "beat2")
FREEZE_SENT = "Sending due task freeze-due-quarters"
CATCH_UP_SENT = "Sending due task catch-up"
FREEZE_DONE = re.compile(
    r"Task worker\.tasks\.freeze_due\[[^\]]+\] succeeded in [\d.]+s: (\[.*\])$"
)


def past_finding(unit_id: str, at: datetime) -> dict:
    """An inspection at `at` finding one hazard with a ten-day deadline (long overdue now)."""
    return {
        "id": str(uuid.uuid4()),
        "unit_id": unit_id,
        "kind": "routine",
        "inspected_at": at.isoformat(),
        "inspectors": ["张三"],
        "hazards": [
            {
                "id": str(uuid.uuid4()),
                "level": "general",
                "category": "exits",
                "description": "安全出口被堵塞",
                "handling": "deadline",
                "deadline": (at + timedelta(days=10)).isoformat(),
            }
        ],
    }


def expected_due(stack: Stack) -> set[str]:
    """Quarters from the first record (or January of last year) whose deadline has passed.

    Worked out here from the calendar, not with the code under test: the reporting deadline is
    the end of day 15 of the month after the quarter, local time.
    """
    tz = ZoneInfo(stack.env.get("HAZARDTRACK_TIMEZONE", "Asia/Shanghai"))
    day = int(stack.env.get("HAZARDTRACK_REPORT_DEADLINE_DAY", "15"))
    now = datetime.now(tz)
    first = stack.sql(
        "SELECT least((SELECT min(found_month) FROM hazards), "
        "(SELECT min(inspected_month) FROM inspections), CAST(%s AS date))",
        date(now.year - 1, 1, 1),
    )[0][0]
    year, q = first.year, (first.month - 1) // 3 + 1
    due = set()
    while True:
        end_y, end_m = (year, q * 3 + 1) if q < 4 else (year + 1, 1)
        deadline = datetime(end_y, end_m, day, tzinfo=tz) + timedelta(days=1)
        if deadline > now:
            break
        due.add(f"{year}Q{q}")
        year, q = (year, q + 1) if q < 4 else (year + 1, 1)
    return due


def frozen_state(stack: Stack) -> dict:
    """What a later freeze send could change: frozen_at per quarter and all frozen cells."""
    return {
        "frozen_at": dict(stack.sql("SELECT quarter, frozen_at FROM frozen_quarters")),
        "cells_hash": stack.sql(
            "SELECT md5(coalesce(string_agg(to_jsonb(c)::text, '|' "
            "ORDER BY period, region_code), '')) FROM metric_cells c WHERE view = 'frozen'"
        )[0][0],
        "cells": stack.sql("SELECT count(*) FROM metric_cells WHERE view = 'frozen'")[0][0],
        "roster": stack.sql("SELECT count(*) FROM frozen_roster")[0][0],
    }


def freeze_results(stack: Stack) -> list[list[str]]:
    """What each freeze_due run returned (the quarters it froze), from the worker's JSON log."""
    out = []
    for line in stack.log("worker").splitlines():
        try:
            event = json.loads(line).get("event", "")
        except (ValueError, AttributeError):
            continue
        m = FREEZE_DONE.search(event)
        if m:
            out.append(ast.literal_eval(m.group(1)))
    return out


def sends(stack: Stack, what: str) -> dict[str, int]:
    return {b: stack.log(b).count(what) for b in BEATS}


def run(seconds: float = 35, freeze_within: float = 20) -> int:
    res = Results(f"two beats at once for {seconds:g} s (freeze check every 5 s)")
    stack = Stack()
    # Only this drill's processes check for due quarters every 5 s instead of hourly.
    stack.env["HAZARDTRACK_FREEZE_CHECK_SECONDS"] = "5"
    try:
        stack.start(beat=False)
        world = seed(stack)
        # Findings in 2026Q2 (deadline 2026-07-15, long past) and a few in 2025Q4.
        posted = 0
        for town, units in world["units"].items():
            headers = stack.token(f"town-{town}", "town-pass-1")
            for i, unit in enumerate(units):
                for at in (
                    datetime(2026, 4, 10 + i, 9, 30, tzinfo=CST),
                    datetime(2026, 6, 3 + i, 14, 0, tzinfo=CST),
                    datetime(2025, 11, 20 + i, 10, 0, tzinfo=CST),
                ):
                    r = httpx.post(
                        f"{stack.base}/inspections", json=past_finding(unit, at), headers=headers
                    )
                    r.raise_for_status()
                    posted += 1
        stack.wait_until(lambda: marks_pending(stack) == 0, timeout=60)
        # Marks cover only the buckets written to; a full recompute (the nightly one) gives every
        # month its live cells, so the end can be compared with a fresh recompute cell for cell.
        stack.hazardtrack("recompute")
        due = expected_due(stack)
        res.note(f"{posted} past findings posted; quarters due: {sorted(due)}")
        res.check(
            not stack.sql("SELECT 1 FROM frozen_quarters"), "nothing frozen before the beats start"
        )

        res.note("starting beat1 and beat2 at once, each with its own schedule file")
        started = time.monotonic()
        for name in BEATS:
            stack.start_beat(name)
        # Findings keep coming while the beats run, so the doubled catch-ups have marks to race on.
        writers = Writers(stack, world["units"], retry=False).start()

        def all_frozen() -> bool:
            return {q for (q,) in stack.sql("SELECT quarter FROM frozen_quarters")} >= due

        took = stack.wait_until(all_frozen, timeout=freeze_within, every=0.5)
        res.check(
            took is not None,
            f"every due quarter frozen within {freeze_within:g} s of the beats starting",
            f"in {took:.1f} s" if took is not None else "not all",
        )
        first = frozen_state(stack)
        sent_at_first = sends(stack, FREEZE_SENT)
        res.note(
            f"first check: {len(first['frozen_at'])} quarters, {first['cells']} frozen cells, "
            f"{first['roster']} roster rows; freeze sends so far {sent_at_first}"
        )
        time.sleep(max(0.0, seconds - (time.monotonic() - started)))
        writers.join()
        for name in BEATS:
            stack.kill(name, signal.SIGTERM)
        # Let the worker finish what the beats sent last.
        stack.wait_until(lambda: marks_pending(stack) == 0, timeout=60)
        time.sleep(3)
        last = frozen_state(stack)

        # (1) both beats really ran the schedule, so every send was doubled.
        freeze_sent = sends(stack, FREEZE_SENT)
        catch_up_sent = sends(stack, CATCH_UP_SENT)
        res.note(
            f"catch-up sends per beat: {catch_up_sent}; {len(writers.acknowledged)} findings "
            "posted while the beats ran"
        )
        res.check(
            all(n >= 2 for n in freeze_sent.values()),
            "both beats sent freeze-due-quarters (at least twice each)",
            freeze_sent,
        )
        later = sum(freeze_sent.values()) - sum(sent_at_first.values())
        res.check(later >= 2, "freeze sends kept coming after every quarter was frozen", later)
        results = freeze_results(stack)
        won = [q for r in results for q in r]
        res.note(
            f"the worker ran freeze_due {len(results)} times; "
            f"runs that froze something: {[r for r in results if r]}"
        )
        res.check(
            sorted(won) == sorted(due),
            "each due quarter was frozen by exactly one freeze_due run",
            f"{len(won)} freezes for {len(due)} quarters",
        )

        # (2) every due quarter frozen exactly once, and nothing else.
        counts = dict(stack.sql("SELECT quarter, count(*) FROM frozen_quarters GROUP BY 1"))
        res.check(
            all(n == 1 for n in counts.values()) and set(counts) == due,
            "frozen_quarters: each due quarter once, no other",
            {q: n for q, n in sorted(counts.items())},
        )
        # (3) later sends did not move frozen_at.
        res.check(
            first["frozen_at"] == last["frozen_at"],
            "frozen_at of every quarter unchanged from the first check to the end",
            [q for q in last["frozen_at"] if first["frozen_at"].get(q) != last["frozen_at"][q]],
        )
        # (4) frozen cells untouched and unique.
        res.check(
            first["cells_hash"] == last["cells_hash"],
            "frozen cells identical from the first check to the end",
            f"{last['cells']} cells, md5 {last['cells_hash'][:12]}",
        )
        dup_cells = stack.sql(
            "SELECT view, region_code, period, count(*) FROM metric_cells "
            "GROUP BY 1, 2, 3 HAVING count(*) > 1"
        )
        res.check(not dup_cells, "no duplicate (view, region, period) cells", dup_cells[:3])
        q2 = stack.sql(
            "SELECT coalesce(sum(found_general + found_major), 0) FROM metric_cells "
            "WHERE view = 'frozen' AND period = '2026Q2'"
        )[0][0]
        res.check(q2 == posted * 2 // 3, "the frozen 2026Q2 counts each of its findings once",
                  f"{q2} of {posted * 2 // 3}")  # fmt: skip
        # (5) the roster snapshot was written once per quarter.
        dup_roster = stack.sql(
            "SELECT quarter, unit_id, count(*) FROM frozen_roster GROUP BY 1, 2 HAVING count(*) > 1"
        )
        res.check(not dup_roster, "no duplicate (quarter, unit) in frozen_roster", dup_roster[:3])
        # (6) the doubled catch-ups left live figures whole.
        before = live_cells(stack)
        stack.hazardtrack("recompute")  # a fresh recompute, in one process, no faults
        fresh = live_cells(stack)
        res.check(before == fresh, "live cells equal a fresh recompute",
                  f"{len(before)} cells; differing: "
                  f"{[k for k in fresh.keys() | before.keys() if before.get(k) != fresh.get(k)][:3]}")  # fmt: skip
        month = datetime.now(CST).strftime("%Y-%m")
        total = stack.sql(
            "SELECT count(*) FROM hazards WHERE to_char(found_month, 'YYYY-MM') = %s", month
        )[0][0]
        counted = sum(
            row["found_general"] + row["found_major"]
            for row in fresh.values()
            if row["period"] == month
        )
        res.check(counted == total, f"{month}: no finding lost or counted twice",
                  f"{counted} of {total}")  # fmt: skip
        res.note(
            f"processes restarted by the supervisor: {stack.restarts or 'none'}; "
            f"errors in worker log: {stack.log('worker').count('ERROR')}"
        )
    finally:
        stack.close()
    return res.exit_code()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--seconds", type=float, default=35)
    a = p.parse_args(argv)
    return run(a.seconds)


if __name__ == "__main__":
    sys.exit(main())
