"""Figure 3 (and the API's part of 5): ingest over HTTP on loopback.

    python bench/bench_ingest.py --scale county [--rate 800] [--duration 10] [--api-workers 1]

- Single inspection with two hazards, POST /api/v1/inspections, under an open model: a fixed
  arrival rate (bench/loadgen.py), latency from each request's due time. Baseline in the same
  run: GET /healthz at the same rate through the same generator and API (the HTTP stack's own
  cost). Then a ramp finds the highest rate this machine sustains with p99 <= 50 ms (a rate
  gets a second try before the ramp stops), with GET /healthz measured at every rate of the
  ramp on the same fresh API.
- One client, sequential POSTs (closed loop): the cost of one request without queueing.
- Batched upload: POST /api/v1/sync with 500 inspections x 2 hazards (an offline phone's
  queue), four phones at once; hazards/s. Baseline: COPY of the same number of hazard rows
  into a scratch copy of the hazards table (what PostgreSQL itself can take).
- pg_test_fsync's fdatasync ops/s: the disk's ceiling on commits for one writer.
- Peak RSS of the whole API (one process as deployed; with --api-workers 2 and more, uvicorn's
  supervisor and its workers together) and of its largest process during all of it, each
  against 200 MB (figure 5).

When it ends, what it posted is deleted again (`common.forget_posted`), so the database keeps
its generated size.
"""

from __future__ import annotations

import argparse
import glob
import http.client
import json
import re
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import orjson  # noqa: E402
import psycopg  # noqa: E402

from bench import common, loadgen  # noqa: E402

COUNTY = "330101000000"
USER = "bench-inspector"


def fsync_ceiling(seconds: int = 2) -> float | None:
    """fdatasync ops/s of the disk holding /var/lib/postgresql (pg_test_fsync), or None."""
    binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_test_fsync"))
    if not binaries:
        return None
    target = "/var/lib/postgresql/bench_fsync.tmp"
    if not Path("/var/lib/postgresql").is_dir():
        target = "/tmp/bench_fsync.tmp"
    try:
        out = subprocess.run(
            [binaries[-1], "-s", str(seconds), "-f", target],
            capture_output=True,
            text=True,
            timeout=120,
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    finally:
        Path(target).unlink(missing_ok=True)
    # The first block is "one 8kB write"; its fdatasync line is the commit ceiling.
    m = re.search(r"fdatasync\s+([\d.,]+) ops/sec", out)
    return float(m.group(1).replace(",", "")) if m else None


def units_of(url: str, limit: int = 2000) -> list[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT id FROM units WHERE region_code LIKE %s AND status <> 'closed' "
            "ORDER BY id LIMIT %s",
            (COUNTY[:6] + "%", limit),
        ).fetchall()
    return [str(r[0]) for r in rows]


def inspection_body(unit: str, n_hazards: int = 2) -> dict:
    at = datetime.now(UTC) - timedelta(seconds=5)
    hazards = []
    for k in range(n_hazards):
        spot = k % 2 == 1
        h = {
            "id": str(uuid.uuid4()),
            "level": "general",
            "category": "fire" if k % 2 == 0 else "electrical",
            "description": "灭火器过期未检" if k % 2 == 0 else "私拉乱接电线",
            "handling": "on_the_spot" if spot else "deadline",
        }
        if not spot:
            h["deadline"] = (at + timedelta(days=7)).isoformat()
        hazards.append(h)
    return {
        "id": str(uuid.uuid4()),
        "unit_id": unit,
        "kind": "routine",
        "inspected_at": at.isoformat(),
        "inspectors": ["张伟", "王芳"],
        "hazards": hazards,
    }


def setup(args) -> tuple[str, dict, object, str, str, list[str]]:
    url = common.generated_database(args)
    if url is None:
        raise SystemExit(2)
    common.ensure_user(url, USER, "inspector", COUNTY)
    env = common.service_env(url)
    port = common.free_port()
    api = common.start_api(env, port, workers=args.api_workers)
    base = f"http://127.0.0.1:{port}"
    tok = common.token(base, USER)
    return url, env, api, base, tok, units_of(url)


def post_inspection_factory(base: str, tok: str, units: list[str]):
    headers = {"Authorization": f"Bearer {tok}", "Content-Type": "application/json"}
    url = f"{base}/api/v1/inspections"

    def make(i: int) -> bytes:
        body = json.dumps(inspection_body(units[i % len(units)]), ensure_ascii=False).encode()
        return loadgen.build("POST", url, headers=headers, body=body)

    return make


def sequential(base: str, tok: str, units: list[str], n: int) -> dict:
    """One client, one POST after the other: a request's own cost, with no queueing."""
    import httpx

    headers = {"Authorization": f"Bearer {tok}", "Content-Type": "application/json"}
    bodies = [
        json.dumps(inspection_body(units[i % len(units)]), ensure_ascii=False).encode()
        for i in range(n + 20)
    ]
    lat = []
    with httpx.Client(base_url=base, headers=headers, timeout=30) as c:
        for i, body in enumerate(bodies):
            t = time.perf_counter()
            r = c.post("/api/v1/inspections", content=body)
            if r.status_code != 201:
                raise RuntimeError(f"POST /inspections: {r.status_code} {r.text[:300]}")
            if i >= 20:  # the first requests warm the pools and caches up
                lat.append(time.perf_counter() - t)
    return {
        "n": n,
        "rps": round(n / sum(lat), 1),
        "p50_ms": round(common.pct(lat, 50) * 1000, 2),
        "p99_ms": round(common.pct(lat, 99) * 1000, 2),
    }


def api_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of the API process and its workers so far."""
    import psutil

    procs = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    total = 0.0
    for p in procs:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.Error:
            pass
    return total


def run_rate(base: str, make, rate: float, duration: float, warmup: float = 1.0) -> dict:
    res = loadgen.open_loop(base + "/", make, rate=rate, duration=duration, warmup=warmup)
    return loadgen.summary(res)


def batched(
    base: str, tok: str, units: list[str], *, batches: int, api_pid: int, phones: int
) -> dict:
    """`batches` uploads of 500 inspections x 2 hazards, `phones` at a time; hazards/s, and
    where each batch's CPU went (the API's processes, PostgreSQL's backends)."""
    import concurrent.futures

    headers = {"Authorization": f"Bearer {tok}"}
    bodies = [
        {"inspections": [inspection_body(units[(b * 500 + j) % len(units)]) for j in range(500)]}
        for b in range(batches)
    ]
    payloads = [json.dumps(b, ensure_ascii=False).encode() for b in bodies]

    host, port = base.removeprefix("http://").split(":")

    def send(p: bytes) -> tuple[int, int, float]:
        # The standard library's client and orjson: the phones run on the same two cores, and
        # httpx (a client per batch, its JSON decoding) took ~45 ms of CPU per batch of them.
        t = time.perf_counter()
        conn = http.client.HTTPConnection(host, int(port), timeout=300)
        try:
            conn.request(
                "POST",
                "/api/v1/sync",
                body=p,
                headers={**headers, "Content-Type": "application/json"},
            )
            r = conn.getresponse()
            body = r.read()
        finally:
            conn.close()
        stored = orjson.loads(body).get("stored", 0) if r.status == 200 else 0
        return r.status, stored, time.perf_counter() - t

    # Warm-up: small batches, four per phone, so that each API process (the kernel picks which
    # one accepts a connection) has its connections, prepared statements and imports before
    # the clock starts; with one per phone, both could land on the same process and the other's
    # first measured batch paid ~1 s for them (both sides of a comparison get it).
    warm = [
        json.dumps({"inspections": [inspection_body(units[j]) for j in range(50)]}).encode()
        for _ in range(4 * phones)
    ]
    with concurrent.futures.ThreadPoolExecutor(phones) as pool:
        list(pool.map(send, warm))
    with common.CpuAccount(api_pid) as cpu:
        t = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(phones) as pool:
            results = list(pool.map(send, payloads))
        seconds = time.perf_counter() - t
    common.say("  /sync: " + cpu.per_request(batches, unit="batch", units="batches"))
    stored = sum(s for _, s, _ in results)
    return {
        "seconds": round(seconds, 3),
        "inspections_stored": stored,
        "hazards": stored * 2,
        "hazards_per_s": round(stored * 2 / seconds, 1),
        "statuses": [s for s, _, _ in results],
        "batch_seconds": [round(b, 3) for _, _, b in results],
        "cpu_ms_per_batch": cpu.ms_per(batches),
    }


def copy_baseline(url: str, n: int) -> float:
    """Hazard rows/s that COPY writes into a scratch copy of hazards (indexes included)."""
    with psycopg.connect(url) as conn:
        conn.execute("CREATE TEMP TABLE scratch_hazards (LIKE hazards INCLUDING ALL)")
        unit, region = conn.execute("SELECT id, region_code FROM units LIMIT 1").fetchone()
        now = datetime.now(UTC)
        rows = [
            (
                uuid.uuid4(),
                unit,
                region,
                "inspection",
                "general",
                "fire",
                "灭火器过期未检",
                "deadline",
                now,
                now.date().replace(day=1),
                now,
                "reported",
                now,
                now,
                "0" * 64,
            )
            for _ in range(n)
        ]
        t = time.perf_counter()
        with conn.cursor().copy(
            "COPY scratch_hazards (id, unit_id, region_code, source, level, category, "
            "description, handling, found_at, found_month, received_at, status, "
            "initial_deadline, deadline, request_hash) FROM STDIN"
        ) as cp:
            for r in rows:
                cp.write_row(r)
        conn.commit()
        return n / (time.perf_counter() - t)


def single_figures(args, stage, seq) -> None:
    """Single-inspection POSTs: one client, the ramp to the ceiling, then the target rate."""
    if args.sequential:
        s = seq(args.sequential)
        common.report(
            "3_single_inspection_one_client",
            s["rps"],
            "req/s",
            target="context: one client, sequential (a request's own cost)",
            extra={"scale": args.scale, **s},
        )
        common.say(f"  one client: {s}")
    best, best_s, best_hz = None, None, None
    ramp = [float(x) for x in args.ramp.split(",") if x]
    for r in ramp:
        # A rate counts as sustained when one of two tries meets the target: on a shared
        # machine one stage can meet a neighbour's burst, and a single miss stopped the
        # ramp far below what the next stages then reached (session 5: 75/s in a full run,
        # 300-400/s alone).
        for attempt in (1, 2):
            s, hz = stage(r, max(4.0, args.duration / 2), healthz=True)
            common.say(
                f"  ramp {r:.0f}/s (try {attempt}): POST rps {s['rps']}, p50 {s['p50_ms']} ms, "
                f"p99 {s['p99_ms']} ms, timeouts {s['timeouts']}, errors {s['errors']}, "
                f"statuses {s['statuses']} | GET /healthz rps {hz['rps']}, "
                f"p50 {hz['p50_ms']} ms, p99 {hz['p99_ms']} ms | CPU ms per POST "
                f"{s['cpu_ms_per_post']}"
            )
            sustained = s["rps"] >= 0.98 * r and s["p99_ms"] <= 50
            if sustained:
                break
        if not sustained:
            break
        best, best_s, best_hz = r, s, hz
    if ramp:
        common.report(
            "3_single_inspection_ceiling",
            best or 0.0,
            "req/s",
            target="highest ramp rate with p99 <= 50 ms (800 req/s)",
            ok=(best or 0) >= 800,
            extra={"scale": args.scale, "api_workers": args.api_workers, "at_ceiling": best_s},
        )
    if best_s and best_hz:
        common.report(
            "3_single_inspection_p99_at_ceiling",
            best_s["p99_ms"],
            "ms",
            baseline=best_hz["p99_ms"] or None,
            baseline_name=f"GET /healthz p99 at {best:.0f}/s, same API and generator",
            target="<= 50 ms",
            ok=best_s["p99_ms"] <= 50,
            extra={"rate": best, "post": best_s, "healthz": best_hz},
        )
    if args.rate:
        single, hz = stage(args.rate, args.duration, healthz=True)
        ok = single["rps"] >= 0.98 * args.rate and single["p99_ms"] <= 50
        common.report(
            "3_single_inspection_post_p99",
            single["p99_ms"],
            "ms",
            baseline=hz["p99_ms"] or None,
            baseline_name=f"GET /healthz p99 at {args.rate:.0f}/s",
            target="<= 50 ms at 800 req/s",
            ok=ok,
            extra={
                "scale": args.scale,
                "rate": args.rate,
                "post": single,
                "healthz": hz,
                "api_workers": args.api_workers,
            },
        )
        common.report(
            "3_single_inspection_post_rps",
            single["rps"],
            "req/s",
            baseline=hz["rps"] or None,
            baseline_name="GET /healthz rps, same generator",
            target=">= 800 req/s with p99 <= 50 ms",
            ok=ok,
        )
        common.say(f"  POST at {args.rate:.0f}/s: {single}")
        common.say(f"  healthz at {args.rate:.0f}/s: {hz}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    common.scale_arg(parser)
    parser.add_argument("--rate", type=float, default=800)
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--api-workers", type=int, default=common.API_WORKERS)
    parser.add_argument(
        "--ramp",
        # Past the target too, so that the figure shows the headroom (the ramp stops at the
        # first rate missed twice).
        default="25,50,75,100,125,150,175,200,250,300,400,600,800,1000,1200,1400,1600,2000",
        help="rates to try for the ceiling (comma-separated); '' skips",
    )
    # Four phones: with two, each API process held one batch at a time and sat idle while
    # PostgreSQL wrote it (the two cores ~73 % busy); four keep both cores at work, which a
    # throughput ceiling needs (BENCHMARKS.md, figure 3). 32 batches, 8 per phone: about 2 s
    # of uploads (6 took under a second, too short to measure on a shared machine).
    parser.add_argument("--batches", type=int, default=32)
    parser.add_argument(
        "--phones", type=int, default=4, help="phones uploading their batches at the same time"
    )
    parser.add_argument(
        "--sequential", type=int, default=200, help="one client's sequential POSTs; 0 skips"
    )
    parser.add_argument(
        "--only", choices=["single", "sync"], help="run only the single POSTs or only /sync"
    )
    args = parser.parse_args(argv)

    if args.only is None:
        fsync = fsync_ceiling()
        common.report(
            "3_fsync_ceiling",
            fsync or 0.0,
            "fdatasync/s",
            target="context: one writer's commits/s on this disk",
        )
    url, env, api, base, tok, units = setup(args)
    peak = peak_single = 0.0

    def fresh_api():
        # A stage that overloads the API can leave it stuck (see BENCHMARKS.md): every stage
        # gets a new one.
        nonlocal api, base, tok, peak
        common.stop(api, grace=3)
        port = common.free_port()
        api = common.start_api(env, port, workers=args.api_workers)
        base = f"http://127.0.0.1:{port}"
        tok = common.token(base, USER)

    def stage(rate: float, duration: float, *, healthz: bool = False) -> tuple[dict, dict | None]:
        """POSTs at `rate` on a fresh API; with healthz, GET /healthz at `rate` first."""
        nonlocal peak, peak_single
        fresh_api()
        # Warm-up at a low rate: every API process opens its connections, prepares its
        # statements and imports what the first request needs before the measured stage.
        run_rate(base, post_inspection_factory(base, tok, units), min(rate, 40.0), 2, warmup=0)
        health = loadgen.build("GET", base + "/healthz")
        hz = run_rate(base, lambda i: health, rate, duration) if healthz else None
        with common.PeakRss([api.pid]) as rss, common.CpuAccount(api.pid) as cpu:
            s = run_rate(base, post_inspection_factory(base, tok, units), rate, duration)
        peak, peak_single = max(peak, rss.max_mb()), max(peak_single, rss.single_mb())
        # Where each POST's CPU went at this rate ("other processes" is mostly the generator).
        s["cpu_ms_per_post"] = cpu.ms_per(s["sent"])
        return s, hz

    def seq(n: int) -> dict:
        fresh_api()
        # Warm-up of every API process: one client's keep-alive connection reaches one of them,
        # and the measured pass (a new connection) may reach the other, whose first requests
        # cost ~0.9 CPU-s of imports and first compiles (until session 9 that was 3-6 ms of
        # this figure's "API CPU per request").
        run_rate(base, post_inspection_factory(base, tok, units), 40.0, 2, warmup=0)
        sequential(base, tok, units, n)
        with common.CpuAccount(api.pid) as account:
            out = sequential(base, tok, units, n)
        # Where each POST's CPU goes (the 20 unmeasured first requests included); "other
        # processes" holds this script, the client.
        common.say("  one client's POSTs: " + account.per_request(n + 20))
        api_ms = account.groups.get("API processes", 0.0) / (n + 20) * 1e3
        out["api_cpu_ms_per_request"] = round(api_ms, 2)
        pg_ms = account.groups.get("postgres backends", 0.0) / (n + 20) * 1e3
        out["postgres_cpu_ms_per_request"] = round(pg_ms, 2)
        health = loadgen.build("GET", base + "/healthz")
        run_rate(base, lambda i: health, 200, 2, warmup=0)
        cpu = api_cpu_seconds(api.pid)
        hz = run_rate(base, lambda i: health, 200, 5, warmup=0)
        out["healthz_api_cpu_ms_per_request"] = round(
            (api_cpu_seconds(api.pid) - cpu) / max(1, hz["ok"]) * 1e3, 2
        )
        return out

    try:
        if args.only != "sync":
            single_figures(args, stage, seq)
        if args.only == "single":
            return 0
        fresh_api()
        with common.PeakRss([api.pid]) as rss:
            b = batched(base, tok, units, batches=args.batches, api_pid=api.pid, phones=args.phones)
        peak, peak_single = max(peak, rss.max_mb()), max(peak_single, rss.single_mb())
        common.say(f"  /sync: {b}")
        base_copy = copy_baseline(url, b["hazards"] or 1000)
        common.report(
            "3_batched_sync_hazards_per_s",
            b["hazards_per_s"],
            "hazards/s",
            baseline=base_copy,
            baseline_name="COPY into a scratch hazards table",
            target=">= 20,000 hazards/s",
            ok=b["hazards_per_s"] >= 20_000,
            extra={"scale": args.scale, **b},
        )
        common.report_api_rss("5_api_peak_rss", peak, peak_single, args.api_workers)
    finally:
        common.stop(api, grace=3)
        common.say(f"  removed the {common.forget_posted(url, USER):,} hazards posted here")
    return 0


if __name__ == "__main__":
    sys.exit(main())
