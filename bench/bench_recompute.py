"""Figures 1, 5 (worker) and 6: full recompute against hand-written SQL, memory, scale-out.

    python bench/bench_recompute.py --scale county     # after bench/generate.py --scale county

1. Baseline: one hand-written grouped SQL over the same hazards table (village × month × level,
   FILTERed counts of found, closed, closed on time and overdue), written into a temporary
   table, timed in this run with the same PostgreSQL settings; also the same SQL deriving the
   month from found_at in the time zone at query time, to show what storing found_month saves.
   Figure: the full recompute of every live figure (hazards, inspections, coverage, reports;
   months, quarters and years) by the real Celery worker processes, split into slices by
   township, from sending `recompute_all` to the run's last slice. Ratio = recompute / baseline.
   It runs over the cells the run before it left (as the nightly recompute does, after the live
   path kept them up to date), so it writes only the cells that changed; the first run, into
   an empty cells table (every cell written), is reported beside it as figure 1e.
5. Peak RSS of each worker process during that recompute (psutil, sampled every 50 ms).
6. The same recompute with PostgreSQL's parallel query off (PGOPTIONS for every connection
   and the baseline), with one worker process and then with two, over existing cells.
   Ratio = one / two.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402

from bench import common  # noqa: E402

NO_PARALLEL = "-c max_parallel_workers_per_gather=0"

BASELINE_SQL = """
CREATE TEMP TABLE bench_baseline AS
SELECT region_code, found_month, level,
       count(*) FILTER (WHERE status <> 'voided') AS found,
       count(*) FILTER (WHERE status = 'closed') AS closed,
       count(*) FILTER (WHERE status = 'closed'
                          AND (deadline IS NULL OR closed_at <= deadline)) AS closed_on_time,
       count(*) FILTER (WHERE status IN ('reported', 'rectifying', 'rectified')
                          AND deadline < now()
                          AND NOT (status = 'rectified' AND submitted_at IS NOT NULL
                                   AND submitted_at <= deadline)) AS overdue
FROM hazards
GROUP BY region_code, found_month, level
"""

BASELINE_TZ_SQL = BASELINE_SQL.replace(
    "found_month, level,\n",
    "date_trunc('month', found_at AT TIME ZONE 'Asia/Shanghai') AS m, level,\n",
    1,
).replace("GROUP BY region_code, found_month, level", "GROUP BY 1, 2, 3")

# For context, not the figure: the same grouping over the columns in which hazards keep how they
# count (count_class, overdue_after, written with the row: services/metrics/definitions.py).
# These are in the (region_code, found_month) index, so this reads the index alone, as the
# recompute's hazard counts do; the baseline above reads the state columns from every row.
BASELINE_STORED_CLASS_SQL = """
CREATE TEMP TABLE bench_baseline AS
SELECT region_code, found_month, level,
       count(*) FILTER (WHERE count_class <> 0) AS found,
       count(*) FILTER (WHERE count_class IN (1, 2)) AS closed,
       count(*) FILTER (WHERE count_class = 1) AS closed_on_time,
       count(*) FILTER (WHERE overdue_after < now()) AS overdue
FROM hazards
GROUP BY region_code, found_month, level
"""

# Printed beside figure 1 for context (--skip-tz leaves them out): name, SQL, what it is compared to.
BASELINE_VARIANTS = [
    ("baseline_sql_tz_at_query_time", BASELINE_TZ_SQL, "same SQL on stored found_month"),
    (
        "baseline_sql_over_stored_count_class",
        BASELINE_STORED_CLASS_SQL,
        "the baseline, over the state columns of each row",
    ),
]


def same_settings(conn) -> None:
    """The settings the worker's cell statements run with (services/metrics/compute.py)."""
    from services.settings import get_settings

    conn.execute("SELECT set_config('work_mem', %s, false)", (get_settings().recompute_work_mem,))
    conn.execute("SET jit = off")


def time_sql(url: str, sql: str, *, parallel: bool, repeat: int) -> float:
    """Best of `repeat` runs of one statement (each in a rolled-back transaction)."""
    best = float("inf")
    with psycopg.connect(url) as conn:
        same_settings(conn)
        if not parallel:
            conn.execute("SET max_parallel_workers_per_gather = 0")
        conn.commit()
        for _ in range(repeat):
            with common.CpuAccount() as cpu:
                conn.execute(sql)
            if cpu.wall < best:
                best, best_cpu = cpu.wall, cpu
            conn.rollback()
    common.say(f"  baseline (best of {repeat}): {best_cpu.summary()}")
    return best


def explain(url: str, sql: str, *, parallel: bool) -> str:
    with psycopg.connect(url) as conn:
        same_settings(conn)
        if not parallel:
            conn.execute("SET max_parallel_workers_per_gather = 0")
        body = sql.split(" AS\n", 1)[1]
        rows = conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + body).fetchall()
        conn.rollback()
    return "\n".join(r[0] for r in rows)


def wait_for_workers(celery_app, n: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        replies = celery_app.control.ping(timeout=0.5) or []
        if len(replies) >= n:
            return
        time.sleep(0.2)
    raise RuntimeError(f"{n} workers did not answer within {timeout} s")


def run_celery(
    env: dict, url: str, *, workers: int, parallel: bool, timeout: float, empty: bool = False
) -> dict:
    """A full recompute by `workers` worker processes; returns seconds and peak RSS.

    `empty`: into an empty cells table, else over the cells already there."""
    from services.db import unit_of_work
    from services.metrics import runs

    wenv = dict(env, HAZARDTRACK_QUEUE=f"bench-{uuid.uuid4().hex[:8]}")
    if not parallel:
        wenv["PGOPTIONS"] = (wenv.get("PGOPTIONS", "") + " " + NO_PARALLEL).strip()
    common.use_env(wenv)
    import importlib

    import worker.app

    importlib.reload(worker.app)  # the queue name is read at import
    celery_app = worker.app.celery_app
    with psycopg.connect(url, autocommit=True) as conn:
        if empty:
            conn.execute("TRUNCATE metric_cells")
        conn.execute("DELETE FROM metric_marks")
        conn.execute("VACUUM (ANALYZE) metric_cells")  # the last run's dead rows, as nightly
    procs = [common.start_worker(wenv, name=f"bench{i}@%h") for i in range(workers)]
    try:
        wait_for_workers(celery_app, workers)
        with unit_of_work() as session:
            run_id = str(runs.create_run(session, kind="recompute", params={}).id)
        with common.PeakRss([p.pid for p in procs]) as rss, common.CpuAccount() as cpu:
            started = time.perf_counter()
            celery_app.send_task("worker.tasks.recompute_all", kwargs={"run_id": run_id})
            status = "pending"
            with psycopg.connect(url, autocommit=True) as conn:
                while time.perf_counter() - started < timeout:
                    status, error = conn.execute(
                        "SELECT status, error FROM task_runs WHERE id = %s", (run_id,)
                    ).fetchone()
                    if status in ("succeeded", "failed"):
                        break
                    time.sleep(0.05)
            seconds = time.perf_counter() - started
        common.say(f"  {workers} worker(s): {cpu.summary()}")
        if status == "failed":
            raise RuntimeError(f"recompute failed: {error}")
        extrapolated = False
        if status != "succeeded":
            # Bounded run: extrapolate from the slices done (slices are of similar size).
            with psycopg.connect(url) as conn:
                done, total = conn.execute(
                    "SELECT jsonb_array_length(coalesce(params->'done', '[]'::jsonb)), "
                    "(params->>'slices')::int FROM task_runs WHERE id = %s",
                    (run_id,),
                ).fetchone()
            common.say(f"  timeout after {seconds:.0f} s: {done}/{total} slices done")
            if not done:
                raise RuntimeError("recompute timed out before its first slice")
            seconds = seconds * total / done
            extrapolated = True
        with psycopg.connect(url) as conn:
            cells = conn.execute("SELECT count(*) FROM metric_cells").fetchone()[0]
            written = conn.execute(
                "SELECT count(*) FROM metric_cells WHERE computed_at >= now() - %s * interval '1 s'",
                (seconds + 1,),
            ).fetchone()[0]
        common.say(f"  cells {cells:,}, of which written in this run {written:,}")
        return {
            "extrapolated": extrapolated,
            "seconds": seconds,
            "cells_written": written,
            "peak_rss_mb": rss.max_mb(),
            "cells": cells,
            "per_worker_mb": [round(v / 2**20, 1) for v in rss.peak.values()],
            "cpu_seconds": {k: round(v, 1) for k, v in cpu.groups.items()},
        }
    finally:
        for p in procs:
            common.stop(p)
        try:
            celery_app.connection_for_write().default_channel.queue_purge(wenv["HAZARDTRACK_QUEUE"])
        except Exception:
            pass


def run_inline(env: dict, url: str, *, parallel: bool, empty: bool = False) -> dict:
    """The same recompute in this process (the CLI's path), for machines without a broker."""
    wenv = dict(env)
    if not parallel:
        wenv["PGOPTIONS"] = (wenv.get("PGOPTIONS", "") + " " + NO_PARALLEL).strip()
        os.environ["PGOPTIONS"] = wenv["PGOPTIONS"]
    common.use_env(wenv)
    from services.db import unit_of_work
    from services.metrics import refresh

    with psycopg.connect(url, autocommit=True) as conn:
        if empty:
            conn.execute("TRUNCATE metric_cells")
        conn.execute("VACUUM (ANALYZE) metric_cells")
    with common.PeakRss([os.getpid()]) as rss:
        t = time.perf_counter()
        with unit_of_work() as session:
            periods = refresh.all_periods(session)
            slices = refresh.townships(session, None)
        for township in slices:
            with unit_of_work() as session:
                refresh.recompute_township(session, township=township, periods=periods)
        seconds = time.perf_counter() - t
    os.environ.pop("PGOPTIONS", None)
    return {"seconds": seconds, "peak_rss_mb": rss.max_mb()}


def broker_up() -> bool:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    common.scale_arg(parser)
    parser.add_argument(
        "--mode",
        choices=["celery", "inline"],
        default=None,
        help="celery (real worker processes; default when Redis answers) or inline",
    )
    parser.add_argument("--repeat", type=int, default=None, help="baseline runs (best is kept)")
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="figure 1 as this many rounds of baseline then recompute; the medians are reported "
        "(a shared machine's speed moves by a third within minutes)",
    )
    parser.add_argument("--skip-scaleout", action="store_true")
    parser.add_argument(
        "--skip-tz",
        action="store_true",
        help="skip timing the baseline's variants (the zone applied; the stored count columns)",
    )
    parser.add_argument(
        "--explain", action="store_true", help="print EXPLAIN ANALYZE of the baseline"
    )
    parser.add_argument("--timeout", type=float, default=3600)
    args = parser.parse_args(argv)
    url = common.generated_database(args)
    if url is None:
        return 2
    env = common.service_env(url)
    mode = args.mode or ("celery" if broker_up() else "inline")
    repeat = args.repeat or (2 if args.scale == "province" else 3)
    with psycopg.connect(url) as conn:
        hazards = conn.execute("SELECT count(*) FROM hazards").fetchone()[0]
    name = common.db_name(args.scale, args.db)
    common.say(f"recompute bench: {name}, {hazards:,} hazards, mode {mode}")

    # 1. baseline (parallel query as configured) and the recompute with two workers, in rounds.
    base = time_sql(url, BASELINE_SQL, parallel=True, repeat=repeat)
    if not args.skip_tz:
        for variant, sql, label in BASELINE_VARIANTS:
            common.report(
                variant,
                time_sql(url, sql, parallel=True, repeat=repeat),
                "s",
                baseline=base,
                baseline_name=label,
                extra={"scale": args.scale, "hazards": hazards},
            )
    if args.explain:
        common.say(explain(url, BASELINE_SQL, parallel=True))

    def recompute(empty: bool) -> dict:
        if mode == "celery":
            return run_celery(env, url, workers=2, parallel=True, timeout=args.timeout, empty=empty)
        return run_inline(env, url, parallel=True, empty=empty)

    # 1e. The first run after a reset: into an empty cells table, every cell written.
    first = recompute(empty=True)
    common.report(
        "1e_full_recompute_into_empty_cells",
        first["seconds"],
        "s",
        baseline=base,
        baseline_name="hand-written grouped SQL, parallel query on",
        extra={"scale": args.scale, "hazards": hazards, "mode": mode, **first},
    )
    bases, fulls = [base], []
    for i in range(args.rounds):
        if i:
            bases.append(time_sql(url, BASELINE_SQL, parallel=True, repeat=repeat))
        fulls.append(recompute(empty=False))
        common.say(
            f"  round {i + 1}: baseline {bases[-1]:.3f} s, recompute {fulls[-1]['seconds']:.3f} s, "
            f"ratio {fulls[-1]['seconds'] / bases[-1]:.2f}"
        )
    base = statistics.median(bases)
    full = sorted(fulls, key=lambda f: f["seconds"])[(len(fulls) - 1) // 2]
    full_s = statistics.median(f["seconds"] for f in fulls)
    common.report(
        "1_full_recompute",
        full_s,
        "s",
        baseline=base,
        baseline_name="hand-written grouped SQL, parallel query on; over the last run's cells"
        + (f"; medians of {args.rounds} rounds" if args.rounds > 1 else ""),
        target="ratio <= 1.3",
        ok=full_s <= 1.3 * base,
        extra={
            "scale": args.scale,
            "hazards": hazards,
            "mode": mode,
            **full,
            "rounds": [[b, f["seconds"]] for b, f in zip(bases, fulls, strict=True)],
        },
    )
    peak_rss = max(f["peak_rss_mb"] for f in (first, *fulls))
    common.report(
        "5_worker_peak_rss",
        peak_rss,
        "MB",
        target="<= 300 MB",
        ok=peak_rss <= 300,
        extra={"scale": args.scale, "mode": mode},
    )
    if args.skip_scaleout or mode != "celery":
        return 0
    # 6. scale-out with parallel query off everywhere.
    base_np = time_sql(url, BASELINE_SQL, parallel=False, repeat=repeat)
    one = run_celery(env, url, workers=1, parallel=False, timeout=args.timeout)
    two = run_celery(env, url, workers=2, parallel=False, timeout=args.timeout)
    common.report(
        "1b_full_recompute_2_workers_no_parallel_query",
        two["seconds"],
        "s",
        baseline=base_np,
        baseline_name="hand-written grouped SQL, parallel query off",
        extra={"scale": args.scale, "hazards": hazards},
    )
    common.report(
        "6_scale_out_speedup",
        one["seconds"] / two["seconds"],
        "x",
        target=">= 1.7x (1 worker / 2 workers, parallel query off)",
        ok=one["seconds"] / two["seconds"] >= 1.7,
        extra={
            "scale": args.scale,
            "one_worker_s": one["seconds"],
            "two_workers_s": two["seconds"],
            "one_rss_mb": one["peak_rss_mb"],
            "two_rss_mb": two["peak_rss_mb"],
        },
    )
    common.say(f"  one worker {one['seconds']:.2f} s, two workers {two['seconds']:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
