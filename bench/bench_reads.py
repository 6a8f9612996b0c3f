"""Figure 4 (and the API's part of 5): dashboard reads for a county.

    python bench/bench_reads.py --scale county [--rate 2000] [--duration 10] [--api-workers 1]

The county user's dashboard asks for GET /api/v1/metrics and GET /api/v1/metrics/breakdown of
its county for the current quarter, alternately. Two tools:

- wrk (Debian's package, closed loop: --connections each wait for their answer) gives the
  throughput ceiling and its latency distribution (--latency);
- bench/loadgen.py (open loop at a fixed arrival rate) gives p99 at the target rate: a
  stricter reading than figure 4 asks for (figure 3 names the open model, figure 4 does not),
  and on 2 cores the Python generator's own ~0.1 ms per request is part of what it measures.

Baseline in the same run: GET /healthz through the same tool and API processes.
The figures are first recomputed once so the cells exist (a dashboard reads cells, not records).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402

from bench import common, loadgen  # noqa: E402

COUNTY = "330101000000"
USER = "bench-county"

HEALTHZ_LUA = 'request = function() return wrk.format("GET", "/healthz") end\n'
LUA = """
local paths = {"%s", "%s"}
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", paths[(n %% 2) + 1], {["Authorization"] = "Bearer %s"})
end
"""


def current_quarter() -> str:
    now = datetime.now(UTC)
    return f"{now.year}Q{(now.month - 1) // 3 + 1}"


def ensure_cells(url: str, env: dict) -> None:
    with psycopg.connect(url) as conn:
        n = conn.execute("SELECT count(*) FROM metric_cells WHERE view = 'live'").fetchone()[0]
    if n:
        return
    common.say("no live cells yet: recomputing once (hazardtrack recompute) …")
    subprocess.run(
        [sys.executable, "-m", "cli", "recompute"],
        cwd=common.ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def parse_wrk(out: str) -> dict:
    def ms(v: str) -> float:
        m = re.match(r"([\d.]+)(us|ms|s)", v)
        if not m:
            return float("nan")
        x = float(m.group(1))
        return {"us": x / 1000, "ms": x, "s": x * 1000}[m.group(2)]

    res = {}
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    res["rps"] = float(m.group(1)) if m else 0.0
    m = re.search(r"(\d+) requests in", out)
    res["requests"] = int(m.group(1)) if m else 0
    for p in ("50", "90", "99"):
        m = re.search(rf"\s{p}%\s+([\d.]+\w+)", out)
        res[f"p{p}_ms"] = ms(m.group(1)) if m else float("nan")
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    res["non_2xx"] = int(m.group(1)) if m else 0
    return res


def wrk(base: str, script: str, *, connections: int, duration: int) -> dict | None:
    """wrk's figures for `duration` seconds of requests made by the Lua `script`; None without
    wrk."""
    if not shutil.which("wrk"):
        return None
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    out = subprocess.run(
        ["wrk", "-t", "1", "-c", str(connections), "-d", f"{duration}s", "--latency"]
        + ["-s", f.name, base],
        capture_output=True,
        text=True,
        timeout=duration + 60,
    ).stdout
    Path(f.name).unlink(missing_ok=True)
    return parse_wrk(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    common.scale_arg(parser)
    parser.add_argument("--rate", type=float, default=2000)
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--api-workers", type=int, default=common.API_WORKERS)
    args = parser.parse_args(argv)
    url = common.generated_database(args)
    if url is None:
        return 2
    env = common.service_env(url)
    ensure_cells(url, env)
    common.ensure_user(url, USER, "county", COUNTY)
    port = common.free_port()
    api = common.start_api(env, port, workers=args.api_workers)
    base = f"http://127.0.0.1:{port}"
    q = current_quarter()
    paths = [
        f"/api/v1/metrics?region={COUNTY}&period={q}",
        f"/api/v1/metrics/breakdown?region={COUNTY}&period={q}",
    ]
    try:
        tok = common.token(base, USER)
        import httpx

        for p in paths:  # fail loudly if the reads do not answer
            r = httpx.get(base + p, headers={"Authorization": f"Bearer {tok}"}, timeout=10)
            r.raise_for_status()
        with common.PeakRss([api.pid]) as rss:
            dur = int(args.duration)
            with common.CpuAccount(api.pid) as cpu_reads:
                reads = LUA % (paths[0], paths[-1], tok)
                w = wrk(base, reads, connections=args.connections, duration=dur)
            wh = None
            if w is not None:
                with common.CpuAccount(api.pid) as cpu_healthz:
                    wh = wrk(base, HEALTHZ_LUA, connections=args.connections, duration=dur)
                assert wh is not None
                # Where each request's CPU goes (the profile the issue asks for beside a ceiling).
                common.say("  reads: " + cpu_reads.per_request(w["requests"] or 1))
                common.say("  /healthz: " + cpu_healthz.per_request(wh["requests"] or 1))
                common.report(
                    "4_dashboard_reads_wrk_rps",
                    w["rps"],
                    "req/s",
                    baseline=wh["rps"],
                    baseline_name=f"GET /healthz, wrk -c {args.connections}",
                    # Figure 4 asks for both in one run: the throughput, and p99 within it.
                    target=">= 2,000 req/s with p99 <= 20 ms in the same run",
                    ok=w["rps"] >= 2000 and w["p99_ms"] <= 20 and w["non_2xx"] == 0,
                    extra={
                        "scale": args.scale,
                        "wrk": w,
                        "wrk_healthz": wh,
                        "api_workers": args.api_workers,
                    },
                )
                common.report(
                    "4_dashboard_reads_wrk_p99",
                    w["p99_ms"],
                    "ms",
                    baseline=wh["p99_ms"],
                    baseline_name="GET /healthz p99 (wrk)",
                    target=f"<= 20 ms (closed loop, {args.connections} connections)",
                    ok=w["p99_ms"] <= 20,
                )
            headers = {"Authorization": f"Bearer {tok}"}
            reqs = [loadgen.build("GET", base + p, headers=headers) for p in paths]
            rate = args.rate
            if w is not None and w["rps"] < rate:
                # The open-loop run at the target would only measure a queue; run it at 80 %
                # of the measured ceiling too, to show p99 below saturation.
                low = round(0.8 * w["rps"])
                s_low = loadgen.summary(
                    loadgen.open_loop(
                        base + "/", lambda i: reqs[i % 2], rate=low, duration=args.duration
                    )
                )
                # The same rate of GET /healthz: what the API processes answer at best.
                health_low = loadgen.build("GET", base + "/healthz")
                sh_low = loadgen.summary(
                    loadgen.open_loop(
                        base + "/", lambda i: health_low, rate=low, duration=args.duration
                    )
                )
                common.report(
                    "4_dashboard_reads_p99_at_80pct_ceiling",
                    s_low["p99_ms"],
                    "ms",
                    baseline=sh_low["p99_ms"],
                    baseline_name=f"GET /healthz p99 at the same {low} req/s",
                    target=f"open loop at {low} req/s",
                    extra={"scale": args.scale, "open_loop": s_low, "healthz": sh_low},
                )
                common.say(f"  reads open loop at {low}/s: {s_low}")
                common.say(f"  healthz open loop at {low}/s: {sh_low}")
            s = loadgen.summary(
                loadgen.open_loop(
                    base + "/", lambda i: reqs[i % 2], rate=rate, duration=args.duration
                )
            )
            health = loadgen.build("GET", base + "/healthz")
            sh = loadgen.summary(
                loadgen.open_loop(base + "/", lambda i: health, rate=rate, duration=args.duration)
            )
            ok = s["rps"] >= 0.98 * rate and s["p99_ms"] <= 20
            common.report(
                "4_dashboard_reads_open_loop_p99",
                s["p99_ms"],
                "ms",
                baseline=sh["p99_ms"],
                baseline_name=f"GET /healthz p99 at {rate:.0f}/s",
                target="<= 20 ms at 2,000 req/s",
                ok=ok,
                extra={"scale": args.scale, "open_loop": s, "healthz": sh},
            )
            common.say(f"  reads open loop at {rate:.0f}/s: {s}")
            common.say(f"  healthz open loop at {rate:.0f}/s: {sh}")
        common.report_api_rss(
            "5_api_peak_rss_reads", rss.max_mb(), rss.single_mb(), args.api_workers
        )
    finally:
        common.stop(api)
    return 0


if __name__ == "__main__":
    sys.exit(main())
