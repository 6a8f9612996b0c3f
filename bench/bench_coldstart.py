"""A fresh API process's first POST /inspections (after a deploy, a restart, a scale-out),
against the POSTs that follow it on the same process.

    python bench/bench_coldstart.py --scale county --starts 3

Each start runs one API process, waits for /healthz (as a load balancer would), then posts one
inspection with two hazards, then `--after` more, one at a time, with a token issued before the
start (phones keep theirs across a deploy). The figure is the median over the starts of the
first POST's latency; the baseline is the median latency of the POSTs after it, in the same
runs. The API process's CPU over the first POST is printed beside it.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402
from bench.bench_ingest import COUNTY, USER, inspection_body, units_of  # noqa: E402


def post(conn: http.client.HTTPConnection, tok: str, unit: str) -> tuple[int, float]:
    body = json.dumps(inspection_body(unit), ensure_ascii=False).encode()
    headers = {"Authorization": f"Bearer {tok}", "Content-Type": "application/json"}
    t = time.perf_counter()
    conn.request("POST", "/api/v1/inspections", body=body, headers=headers)
    r = conn.getresponse()
    r.read()
    return r.status, (time.perf_counter() - t) * 1e3


def one_start(env: dict, tok: str, units: list[str], after: int) -> dict:
    port = common.free_port()
    api = common.start_api(env, port, workers=1)
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        cpu = common.cpu_seconds(api.pid)
        status, first = post(conn, tok, units[0])
        first_cpu = (common.cpu_seconds(api.pid) - cpu) * 1e3
        later = [post(conn, tok, units[(1 + i) % len(units)]) for i in range(after)]
    finally:
        common.stop(api, grace=3)
    statuses = {status, *(s for s, _ in later)}
    if statuses != {201}:
        raise SystemExit(f"unexpected statuses {statuses}")
    return {"first_ms": first, "first_cpu_ms": first_cpu, "later_ms": [ms for _, ms in later]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    common.scale_arg(parser)
    parser.add_argument("--starts", type=int, default=3, help="API processes started in turn")
    parser.add_argument("--after", type=int, default=30, help="POSTs after the first, each start")
    args = parser.parse_args(argv)
    url = common.generated_database(args)
    if url is None:
        return 2
    common.ensure_user(url, USER, "inspector", COUNTY)
    env = common.service_env(url)
    units = units_of(url)
    # A token issued by an earlier process: the secret key is the same, as across a deploy.
    port = common.free_port()
    api = common.start_api(env, port, workers=1)
    try:
        tok = common.token(f"http://127.0.0.1:{port}", USER)
    finally:
        common.stop(api, grace=3)
    runs = [one_start(env, tok, units, args.after) for _ in range(args.starts)]
    for i, run in enumerate(runs, 1):
        common.say(
            f"  start {i}: first POST {run['first_ms']:.1f} ms ({run['first_cpu_ms']:.0f} ms of "
            f"the API's CPU), the next {args.after}: median {statistics.median(run['later_ms']):.1f}"
            f" ms, max {max(run['later_ms']):.1f} ms"
        )
    first = statistics.median(r["first_ms"] for r in runs)
    later = statistics.median(ms for r in runs for ms in r["later_ms"])
    common.report(
        "3_first_post_after_start",
        first,
        "ms",
        baseline=later,
        baseline_name=f"median of the {args.after} POSTs after it, same processes",
        extra={
            "scale": args.scale,
            "starts": args.starts,
            "first_cpu_ms": [round(r["first_cpu_ms"]) for r in runs],
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
