"""Shared pieces of the benchmarks: scales, the bench database, processes, timing and reports.

Every benchmark prints lines of the form

    FIGURE <name>: <value> <unit> | baseline <value> | ratio <r> | target <t> | PASS/MISS

so a run's figures can be compared with BENCHMARKS.md by eye or by grep.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
SERVER = os.environ.get("BENCH_SERVER_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
BROKER = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/0")
SECRET = "bench-secret-key-of-at-least-32-characters!"
PASSWORD = "bench-pass-1"
RESULTS = Path(
    os.environ.get("BENCH_RESULTS", Path(tempfile.gettempdir()) / "hazardtrack-bench.jsonl")
)


@dataclass(frozen=True)
class Scale:
    name: str
    cities: int  # cities in the province
    counties: int  # counties per city
    townships: int  # per county
    villages: int  # per township
    units: int  # total
    hazards: int  # total, approximately
    events: bool  # write hazard_events (the frozen view's history); off at province scale
    months: int = 24


SCALES = {
    "tiny": Scale("tiny", 1, 1, 3, 4, 120, 3_000, True),
    "county": Scale("county", 1, 1, 20, 15, 5_000, 200_000, True),
    "province": Scale("province", 10, 10, 20, 15, 500_000, 10_000_000, False),
}


def scale_arg(parser) -> None:
    parser.add_argument("--scale", choices=list(SCALES), default="county")
    parser.add_argument("--db", help="database name (default hazardtrack_bench_<scale>)")


def db_name(scale: str, override: str | None = None) -> str:
    return override or f"hazardtrack_bench_{scale}"


def db_url(name: str) -> str:
    return SERVER.rsplit("/", 1)[0] + "/" + name


def create_database(name: str, *, fresh: bool) -> str:
    """Create (or recreate) the bench database and build its schema with the migrations."""
    with psycopg.connect(SERVER, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists and fresh:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = None
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    url = db_url(name)
    import migrations

    migrations.upgrade(url)
    return url


def database_exists(name: str) -> bool:
    with psycopg.connect(SERVER, autocommit=True) as conn:
        return bool(
            conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        )


def service_env(url: str, **extra: str) -> dict[str, str]:
    """Environment for the API and worker processes a benchmark starts."""
    env = dict(os.environ)
    env.update(
        HAZARDTRACK_DATABASE_URL=url,
        HAZARDTRACK_BROKER_URL=BROKER,
        HAZARDTRACK_QUEUE=f"bench-{uuid.uuid4().hex[:8]}",
        HAZARDTRACK_SECRET_KEY=SECRET,
        HAZARDTRACK_ENV="development",
        HAZARDTRACK_DATA_DIR=tempfile.mkdtemp(prefix="hazardtrack-bench-"),
        PYTHONPATH=str(ROOT),
    )
    env.update(extra)
    return env


def use_env(env: dict[str, str]) -> None:
    """Point this process's settings (and Celery app) at the bench database and queue."""
    for k, v in env.items():
        if k.startswith("HAZARDTRACK_"):
            os.environ[k] = v
    from services.settings import get_settings

    get_settings.cache_clear()
    from services.db import reset_engine

    reset_engine()


# --- processes ------------------------------------------------------------------------------


def start_api(env: dict[str, str], port: int, workers: int = 1) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "cli", "api", "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--workers", str(workers), "--log-level", "warning"]
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    import httpx

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"API exited with {proc.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    stop(proc)
    raise RuntimeError("API did not start within 30 s")


def start_worker(env: dict[str, str], *, name: str = "w1", log: Path | None = None):
    """One Celery worker process (solo pool: one process, one task at a time)."""
    cmd = [sys.executable, "-m", "cli", "worker", "--pool", "solo", "--log-level", "warning"]
    out = open(log, "ab") if log else subprocess.DEVNULL
    env = dict(env, CELERY_WORKER_NAME=name)
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def stop(proc: subprocess.Popen, grace: float = 10.0) -> None:
    """Stop a process we started and its children (uvicorn's workers), killing what hangs."""
    try:
        import psutil

        children = psutil.Process(proc.pid).children(recursive=True)
    except Exception:
        children = []
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    for child in children:
        try:
            child.wait(timeout=2)
        except Exception:
            try:
                child.kill()
            except Exception:
                pass


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_of(pid: int) -> int:
    """Resident set size in bytes of a process and its children (from /proc via psutil)."""
    try:
        import psutil

        p = psutil.Process(pid)
        total = p.memory_info().rss
        for c in p.children(recursive=True):
            try:
                total += c.memory_info().rss
            except psutil.Error:
                pass
        return total
    except ImportError:  # pragma: no cover - psutil is in the venv, /proc is the fallback
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except Exception:
        return 0
    return 0


class PeakRss:
    """Samples the RSS of some processes every 50 ms; `.peak[pid]` is the largest seen."""

    def __init__(self, pids: list[int], interval: float = 0.05):
        self.pids, self.interval = pids, interval
        self.peak = dict.fromkeys(pids, 0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for pid in self.pids:
                self.peak[pid] = max(self.peak[pid], rss_of(pid))
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def max_mb(self) -> float:
        return max(self.peak.values(), default=0) / 2**20


# --- users and tokens -----------------------------------------------------------------------


def ensure_user(url: str, username: str, role: str, region_code: str | None) -> None:
    """A bench login with a cheap argon2 hash (its password is public)."""
    from argon2 import PasswordHasher

    hashed = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(PASSWORD)
    with psycopg.connect(url) as conn:
        conn.execute(
            """
            INSERT INTO users (id, username, password_hash, role, region_code, active,
                               token_version)
            VALUES (%s, %s, %s, %s, %s, true, 0)
            ON CONFLICT (username) DO UPDATE SET password_hash = excluded.password_hash
            """,
            (uuid.uuid4(), username, hashed, role, region_code),
        )


def token(base: str, username: str) -> str:
    import httpx

    r = httpx.post(
        f"{base}/api/v1/auth/token", data={"username": username, "password": PASSWORD}, timeout=10
    )
    r.raise_for_status()
    return r.json()["access_token"]


# --- statistics and reporting ---------------------------------------------------------------


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    k = min(len(s) - 1, max(0, int(round(p / 100 * len(s) + 0.5)) - 1))
    return s[k]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def machine() -> dict:
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    with psycopg.connect(SERVER) as conn:
        pg = conn.execute("SHOW server_version").fetchone()[0]
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": round(mem, 1),
        "python": platform.python_version(),
        "postgresql": pg,
        "kernel": platform.release(),
    }


def report(
    figure: str,
    value: float,
    unit: str,
    *,
    baseline: float | None = None,
    baseline_name: str = "",
    target: str = "",
    ok: bool | None = None,
    extra: dict | None = None,
) -> dict:
    ratio = value / baseline if baseline else None
    verdict = "" if ok is None else ("PASS" if ok else "MISS")
    parts = [f"FIGURE {figure}: {value:,.3f} {unit}"]
    if baseline is not None:
        parts.append(f"baseline {baseline:,.3f} {unit} ({baseline_name})")
        parts.append(f"ratio {ratio:.2f}")
    if target:
        parts.append(f"target {target}")
    if verdict:
        parts.append(verdict)
    print(" | ".join(parts), flush=True)
    row = {
        "figure": figure,
        "value": value,
        "unit": unit,
        "baseline": baseline,
        "baseline_name": baseline_name,
        "ratio": ratio,
        "target": target,
        "verdict": verdict,
        "at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "argv": " ".join(sys.argv),
        **(extra or {}),
    }
    try:
        with open(RESULTS, "a") as f:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    except OSError:
        pass
    return row


def say(message: str) -> None:
    print(message, flush=True)
