"""Run every benchmark at one scale and print each figure with its baseline and ratio.

    python bench/run.py --scale county            # make bench (generates the data if missing)
    python bench/run.py --scale tiny --quick      # seconds: a smoke run
    python bench/run.py --scale province --only recompute

Figures are also appended as JSON lines to $BENCH_RESULTS (default: a file in the temp dir).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402

from bench import common  # noqa: E402

HERE = Path(__file__).resolve().parent
STEPS = ["recompute", "freshness", "ingest", "reads"]


def step(script: str, args: list[str]) -> int:
    common.say(f"\n=== {script} {' '.join(args)}")
    t = time.monotonic()
    code = subprocess.call([sys.executable, str(HERE / script), *args], cwd=common.ROOT)
    common.say(f"=== {script}: exit {code} in {time.monotonic() - t:.0f} s")
    return code


def settle(name: str) -> None:
    """VACUUM ANALYZE what a benchmark that writes records grew, before the next one starts.

    Left to autovacuum, that work started during the next benchmark: the dashboard reads,
    right after the ingest's ~30,000 inspections, measured 1,882 req/s (p99 37 ms) in one full
    run and 2,481 (p99 18 ms) alone, their API and backends each a third dearer per request.
    """
    t = time.monotonic()
    with psycopg.connect(common.db_url(name), autocommit=True) as conn:
        for table in ("hazards", "inspections", "hazard_events", "metric_marks", "metric_cells"):
            conn.execute(f"VACUUM (ANALYZE) {table}")
        # The ingest writes (and deletes again) a few hundred MB of WAL, enough to set off a
        # checkpoint, whose writes would then fall in the dashboard reads. Taken here, it is
        # over before they start. (Session 13: reads after the ingest p99 24 ms without it,
        # 17.5 ms with it, 14 ms run alone; one run each, so a precaution, not a proof.)
        try:
            conn.execute("CHECKPOINT")
        except psycopg.errors.InsufficientPrivilege:
            pass  # a server where the bench role may not: the reads may meet it then
    common.say(
        f"=== settled (VACUUM ANALYZE of the tables it wrote, CHECKPOINT) in "
        f"{time.monotonic() - t:.0f} s"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    common.scale_arg(parser)
    parser.add_argument("--only", choices=STEPS, action="append")
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--quick", action="store_true", help="short runs (smoke)")
    parser.add_argument(
        "--api-workers",
        type=int,
        default=common.API_WORKERS,
        help="API processes of the freshness, ingest and reads benchmarks (as deployed: 1)",
    )
    args = parser.parse_args(argv)
    scale = ["--scale", args.scale] + (["--db", args.db] if args.db else [])
    api = ["--api-workers", str(args.api_workers)]
    common.say(f"machine: {common.machine()}")
    name = common.db_name(args.scale, args.db)
    failed = 0
    if args.regenerate or not common.database_exists(name):
        failed |= step("generate.py", scale)
    quick = args.quick or args.scale == "tiny"
    for s in args.only or STEPS:
        if s == "recompute":
            failed |= step("bench_recompute.py", scale)
        elif s == "freshness":
            failed |= step(
                "bench_freshness.py", scale + api + (["--hazards", "200"] if quick else [])
            )
            settle(name)
        elif s == "ingest":
            extra = ["--duration", "3", "--ramp", "", "--batches", "1", "--rate", "100"]
            failed |= step("bench_ingest.py", scale + api + (extra if quick else []))
            settle(name)
        elif s == "reads":
            extra = ["--duration", "3", "--rate", "200"]
            failed |= step("bench_reads.py", scale + api + (extra if quick else []))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
