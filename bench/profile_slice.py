"""Where one slice of a full recompute spends its time: backend CPU of each part of the cells
statement, of writing the cells, against the grouped hazards SQL over the same slice.

    python bench/profile_slice.py --scale province            # the middle county slice
    python bench/profile_slice.py --scale county --slice 330101005

The slice itself is timed over the cells already there (the worker writes only the changed
ones) and into an emptied range. CPU seconds of the PostgreSQL backend (from /proc, so this
runs on the database's machine) are steadier than wall time on a shared machine. Each part
is the statement cut after that CTE (`SELECT * FROM <cte>`, its rows sent to this client, so
PostgreSQL cannot skip unused columns), the best of three batches of five runs; parts include
the CTEs they read (e.g. `mm` includes `hzm`, `insm` and `covm`), and every part includes the
fixed cost of the targets (`t`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402
from bench.bench_recompute import BASELINE_SQL  # noqa: E402

PARTS = {
    "t": "the targets (leaves x periods, crossed in SQL), fixed cost",
    "hzm": "hazards grouped by region and month (from the index; the baseline reads rows)",
    "insm": "inspections grouped by region and month",
    "covm": "units first inspected in each month, quarter and year, by unit",
    "repq": "reports of the roster's units, per quarter",
    "mm": "... hazards, inspections, units inspected side by side per month",
    "mcp": "... summed into quarters and years, with the reports",
    "edge": "roster: units opening or closing within the span, per period",
    "req": "units required to report, per period",
}


def best_cpu(session, pid: int, sql: str, params: dict, repeat: int = 3, batch: int = 5) -> float:
    """Backend CPU of one execution: the best of `repeat` batches, each averaged over `batch`
    runs (the kernel counts CPU in 10 ms ticks, too coarse for one run of a part)."""
    from sqlalchemy import text

    best = float("inf")
    for _ in range(repeat):
        before = common.cpu_seconds(pid)
        for _ in range(batch):
            session.execute(text(sql), params).all()
        best = min(best, (common.cpu_seconds(pid) - before) / batch)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    common.scale_arg(parser)
    parser.add_argument("--slice", help="slice key (township or county code); default: middle")
    args = parser.parse_args(argv)
    url = common.bench_database(common.db_name(args.scale, args.db))
    common.use_env(common.service_env(url))
    from sqlalchemy import text

    from services.db import unit_of_work
    from services.metrics import compute, refresh
    from services.metrics.compute import Grid, _statement, _target_params

    with unit_of_work() as session:
        periods = refresh.all_periods(session)
        slices = refresh.slices(session, None)
        key = args.slice or slices[len(slices) // 2]
        leaves = compute.leaves(session, key)
        targets = Grid(tuple(leaves), tuple(periods))
        statement = _statement("live", targets)
        head = statement.rsplit("    SELECT t.region_code, t.period,", 1)[0]
        params = {**_target_params(targets), "cutoff": refresh._now(), "frozen_at": None}
        compute._statement_settings(session, targets)
        pid = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
        lo, hi = compute.code_range(key).values()
        base_sql = BASELINE_SQL.split(" AS\n", 1)[1].replace(
            "FROM hazards\n", "FROM hazards WHERE region_code >= :lo AND region_code < :hi\n"
        )
        session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
        baseline = best_cpu(session, pid, base_sql, {"lo": lo, "hi": hi})
        common.say(
            f"slice {key}: {len(leaves)} leaves x {len(periods)} periods = {len(targets)} cells"
        )
        common.say(f"  {'grouped hazards SQL (baseline)':66s} {baseline:6.3f} s CPU")
        for part, what in PARTS.items():
            cpu = best_cpu(session, pid, f"{head} SELECT * FROM {part}", params)
            common.say(f"  {part:5s} {what:60s} {cpu:6.3f} s CPU")
        whole = best_cpu(session, pid, statement, params)
        common.say(f"  {'the whole cells statement':66s} {whole:6.3f} s CPU")
        session.rollback()
    # The slice as the worker runs it: over the cells there (only changes written), and into
    # an emptied range (every cell written; the delete before it is not counted, but its rows
    # are still in the index, so this is a little dearer than into an empty table, figure 1e).
    # Best of three, each rolled back.
    cpu = {"existing": float("inf"), "emptied": float("inf")}
    for _ in range(3):
        for case in cpu:
            with unit_of_work() as session:
                pid = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
                if case == "emptied":
                    session.execute(
                        text(
                            "DELETE FROM metric_cells WHERE view = 'live' "
                            "AND region_code >= :lo AND region_code < :hi"
                        ),
                        {"lo": lo, "hi": hi},
                    )
                before = common.cpu_seconds(pid)
                refresh.recompute_township(session, township=key, periods=periods)
                cpu[case] = min(cpu[case], common.cpu_seconds(pid) - before)
                session.rollback()
    slice_cpu = cpu["existing"]
    common.say(
        f"  {'recompute_township over the cells there (changes written)':66s} {slice_cpu:6.2f} s CPU"
    )
    common.say(
        f"  {'recompute_township into an emptied range (all cells written)':66s} {cpu['emptied']:6.2f} s CPU"
    )
    common.report(
        "1c_slice_cpu",
        slice_cpu,
        "s",
        baseline=baseline,
        baseline_name="grouped hazards SQL over the same slice, backend CPU",
        extra={
            "scale": args.scale,
            "slice": key,
            "cells": len(targets),
            "statement_s": whole,
            "into_emptied_range_s": cpu["emptied"],
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
