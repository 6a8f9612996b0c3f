"""Figures 3 and 4: the API's CPU per request, by endpoint, against GET /healthz.

    python bench/request_cpu.py --scale county [--requests 2000]

Throughput on a shared 2-core machine moves with whatever else runs; the CPU seconds the API
process spends per request (from /proc, summed over its workers) move much less, and they are
what caps the throughput: 2 cores / CPU per request, less what PostgreSQL and the load
generator take. One API worker, one client sending requests one after another on a keep-alive
connection (the client's own CPU is not counted). Each endpoint: the dashboard's two reads of
a county (from cache, as a polling dashboard gets them) and one inspection with two hazards
(the phone's POST, each with new ids), each against /healthz in the same run.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402
from bench.bench_ingest import USER as INSPECTOR  # noqa: E402
from bench.bench_ingest import api_cpu_seconds, inspection_body, units_of  # noqa: E402
from bench.bench_reads import COUNTY, current_quarter, ensure_cells  # noqa: E402
from bench.bench_reads import USER as READER  # noqa: E402


def per_request(client, pid: int, send, n: int) -> float:
    """Milliseconds of API CPU per request over `n` requests (after a warm-up)."""
    for _ in range(min(200, n)):
        send(client)
    before = api_cpu_seconds(pid)
    for _ in range(n):
        send(client)
    return (api_cpu_seconds(pid) - before) / n * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    common.scale_arg(parser)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--only", choices=["reads", "post"], default=None)
    args = parser.parse_args(argv)
    url = common.generated_database(args)
    if url is None:
        return 2
    env = common.service_env(url)
    ensure_cells(url, env)
    common.ensure_user(url, READER, "county", COUNTY)
    common.ensure_user(url, INSPECTOR, "inspector", COUNTY)
    port = common.free_port()
    api = common.start_api(env, port, workers=1)
    base = f"http://127.0.0.1:{port}"
    q = current_quarter()
    import httpx

    try:
        reader = {"Authorization": f"Bearer {common.token(base, READER)}"}
        inspector = {"Authorization": f"Bearer {common.token(base, INSPECTOR)}"}
        units = units_of(url)
        posted = iter(range(10**9))

        def get(path: str, headers: dict | None = None):
            def send(c) -> None:
                c.get(path, headers=headers).raise_for_status()

            return send

        def post(c) -> None:
            body = inspection_body(units[next(posted) % len(units)])
            r = c.post("/api/v1/inspections", json=body, headers=inspector)
            if r.status_code != 201:
                raise RuntimeError(f"POST answered {r.status_code}: {r.text[:300]}")

        cases = []
        if args.only in (None, "reads"):
            cases += [
                ("metrics", get(f"/api/v1/metrics?region={COUNTY}&period={q}", reader)),
                ("breakdown", get(f"/api/v1/metrics/breakdown?region={COUNTY}&period={q}", reader)),
            ]
        if args.only in (None, "post"):
            cases.append(("post_inspection", post))
        with httpx.Client(base_url=base, timeout=30) as client:
            for label, send in cases:
                healthz = per_request(client, api.pid, get("/healthz"), args.requests)
                ms = per_request(client, api.pid, send, args.requests)
                common.report(
                    f"api_cpu_per_request_{label}",
                    ms,
                    "ms",
                    baseline=healthz,
                    baseline_name="GET /healthz, same run",
                    target="figure 4 needs ~1.0 ms (reads), figure 3 ~2.5 ms (POST)",
                    extra={"scale": args.scale, "requests": args.requests},
                )
    finally:
        common.stop(api)
    return 0


if __name__ == "__main__":
    sys.exit(main())
