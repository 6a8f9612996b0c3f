"""Figure 2: how long until the live figures include new hazards, with a real worker.

    python bench/bench_freshness.py --scale county [--hazards 1000] [--clients 8]

An inspector's phones post a burst of inspections with two hazards each (1,000 hazards by
default, `--clients` at a time) to an API with a real Celery worker behind it. A county user
polls GET /api/v1/metrics for the county and the current month every 50 ms. Hazards are ranked
by the time their POST returned; hazard k is counted as visible at the first poll whose
hazards_found reached base + k (the worker takes marks in commit order, batch by batch).
Freshness = visible - posted; the figure is its p95. Baseline in the same run: one inspection
posted on a quiet system (the debounce plus one recompute). When it ends, what it posted is
deleted again (`common.forget_posted`), so the database keeps its generated size.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402
import psycopg  # noqa: E402

from bench import common  # noqa: E402
from bench.bench_ingest import COUNTY, inspection_body, units_of  # noqa: E402

INSPECTOR, READER = "bench-inspector", "bench-county"


def found(client: httpx.Client, base: str, tok: str, period: str) -> int:
    r = client.get(
        f"{base}/api/v1/metrics",
        params={"region": COUNTY, "period": period},
        headers={"Authorization": f"Bearer {tok}"},
    )
    r.raise_for_status()
    return r.json()["metrics"]["hazards_found"]["count"]


def wait_visible(client, base, tok, period, target: int, timeout: float) -> float | None:
    t = time.perf_counter()
    while time.perf_counter() - t < timeout:
        if found(client, base, tok, period) >= target:
            return time.perf_counter()
        time.sleep(0.05)
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    common.scale_arg(parser)
    parser.add_argument("--hazards", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--timeout", type=float, default=120)
    parser.add_argument("--api-workers", type=int, default=common.API_WORKERS)
    args = parser.parse_args(argv)
    url = common.generated_database(args)
    if url is None:
        return 2
    env = common.service_env(url)
    with psycopg.connect(url) as conn:
        n = conn.execute("SELECT count(*) FROM metric_cells WHERE view = 'live'").fetchone()[0]
    if not n:
        common.say("no live cells yet: recomputing once …")
        subprocess.run(
            [sys.executable, "-m", "cli", "recompute"],
            cwd=common.ROOT,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
    common.ensure_user(url, INSPECTOR, "inspector", COUNTY)
    common.ensure_user(url, READER, "county", COUNTY)
    units = units_of(url)
    port = common.free_port()
    api = common.start_api(env, port, workers=args.api_workers)
    worker = common.start_worker(env)
    base = f"http://127.0.0.1:{port}"
    now = datetime.now(UTC)
    period = f"{now.year}-{now.astimezone().month:02d}"
    from zoneinfo import ZoneInfo

    local = now.astimezone(ZoneInfo("Asia/Shanghai"))
    period = f"{local.year}-{local.month:02d}"
    try:
        itok, rtok = common.token(base, INSPECTOR), common.token(base, READER)
        client = httpx.Client(timeout=30)
        ih = {"Authorization": f"Bearer {itok}"}
        time.sleep(3)  # the worker starts and drains its start-up catch-up

        # Baseline: one inspection (two hazards) on a quiet system.
        singles = []
        for i in range(3):
            start = found(client, base, rtok, period)
            r = client.post(
                f"{base}/api/v1/inspections", json=inspection_body(units[i]), headers=ih
            )
            r.raise_for_status()
            posted = time.perf_counter()
            seen = wait_visible(client, base, rtok, period, start + 2, args.timeout)
            if seen is None:
                raise SystemExit("a single inspection never showed up in the figures")
            singles.append(seen - posted)
            time.sleep(0.5)
        single = common.median(singles)

        # The burst.
        start = found(client, base, rtok, period)
        n_insp = args.hazards // 2
        bodies = [inspection_body(units[(i * 7) % len(units)]) for i in range(n_insp)]
        done_at: list[float] = []
        lock = threading.Lock()
        polls: list[tuple[float, int]] = []
        stop = threading.Event()

        def poll() -> None:
            with httpx.Client(timeout=30) as c:
                while not stop.is_set():
                    polls.append((time.perf_counter(), found(c, base, rtok, period)))
                    if polls[-1][1] >= start + 2 * n_insp:
                        return
                    time.sleep(0.05)

        poller = threading.Thread(target=poll, daemon=True)
        poller.start()

        def post(body: dict) -> None:
            with httpx.Client(timeout=60) as c:
                rr = c.post(
                    f"{base}/api/v1/inspections",
                    content=json.dumps(body),
                    headers={**ih, "Content-Type": "application/json"},
                )
                rr.raise_for_status()
            with lock:
                done_at.append(time.perf_counter())

        t0 = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(args.clients) as pool:
            list(pool.map(post, bodies))
        burst_s = time.perf_counter() - t0
        poller.join(timeout=args.timeout)
        stop.set()
        done_at.sort()
        fresh = []
        for k, posted in enumerate(done_at):
            need = start + 2 * (k + 1)
            seen = next((t for t, c in polls if c >= need and t >= posted), None)
            fresh.append((seen if seen is not None else polls[-1][0] + args.timeout) - posted)
        p95 = common.pct(fresh, 95)
        common.report(
            "2_freshness_p95",
            p95,
            "s",
            baseline=single,
            baseline_name="one inspection on a quiet system",
            target="<= 2 s after a burst of 1,000 hazards",
            ok=p95 <= 2.0,
            extra={
                "scale": args.scale,
                "hazards": 2 * n_insp,
                "burst_seconds": burst_s,
                "burst_rps": n_insp / burst_s,
                "p50_s": common.pct(fresh, 50),
                "max_s": max(fresh),
                "single_runs_s": singles,
                "all_visible": polls[-1][1] >= start + 2 * n_insp,
            },
        )
        common.say(
            f"  burst: {n_insp} inspections ({2 * n_insp} hazards) in {burst_s:.1f} s "
            f"({n_insp / burst_s:.0f} req/s); p50 {common.pct(fresh, 50):.2f} s, "
            f"max {max(fresh):.2f} s"
        )
    finally:
        common.stop(worker)
        common.stop(api)
        common.say(f"  removed the {common.forget_posted(url, INSPECTOR):,} hazards posted here")
    return 0


if __name__ == "__main__":
    sys.exit(main())
