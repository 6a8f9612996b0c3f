"""A private stack for fault scripts: its own PostgreSQL and Redis, and the project's processes.

Everything runs on its own ports and in a temporary directory, so breaking it (killing the
worker, stopping Redis, restarting PostgreSQL) never touches the machine's shared services.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
ADMIN = ("fault-admin", "fault-admin-pass-1")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if found:
        return found[-1]
    return shutil.which(name) or name


def _as_postgres(cmd: list[str]) -> list[str]:
    # initdb and pg_ctl refuse to run as root; run them as the postgres system user then.
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


class Results:
    """Invariants checked by a script: each printed as PASS or FAIL."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.failed: list[str] = []
        print(f"== {name} ==", flush=True)

    def check(self, ok: bool, what: str, detail: object = "") -> bool:
        print(
            f"  [{'PASS' if ok else 'FAIL'}] {what}" + (f": {detail}" if detail != "" else ""),
            flush=True,
        )
        if not ok:
            self.failed.append(what)
        return ok

    def note(self, text: str) -> None:
        print(f"  .. {text}", flush=True)

    def exit_code(self) -> int:
        verdict = "PASS" if not self.failed else f"FAIL ({len(self.failed)} invariants)"
        print(f"== {self.name}: {verdict} ==", flush=True)
        return 0 if not self.failed else 1


class Stack:
    """PostgreSQL, Redis, API, worker and beat of our own, torn down on exit."""

    def __init__(self, *, pg_port: int | None = None, redis_port: int | None = None) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="hazardtrack-faults-"))
        os.chmod(self.dir, 0o755)
        self.pg_port = pg_port or _free_port()
        self.redis_port = redis_port or _free_port()
        self.api_port = _free_port()
        self.pgdata = self.dir / "pgdata"
        self.procs: dict[str, subprocess.Popen] = {}
        self.database_url = f"postgresql://postgres@127.0.0.1:{self.pg_port}/hazardtrack"
        self.env = {
            **os.environ,
            "HAZARDTRACK_DATABASE_URL": self.database_url,
            "HAZARDTRACK_BROKER_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "HAZARDTRACK_DATA_DIR": str(self.dir / "data"),
            "HAZARDTRACK_ENV": "development",
            "HAZARDTRACK_QUEUE": "hazardtrack-faults",
            "HAZARDTRACK_ARGON2_TIME_COST": "1",
            "HAZARDTRACK_ARGON2_MEMORY_KIB": "1024",
            "HAZARDTRACK_LOGIN_MAX_FAILURES": "1000",
            "PYTHONUNBUFFERED": "1",
        }
        self._token: str | None = None
        self.restarts: list[str] = []  # processes the supervisor restarted after they exited
        self._supervised: dict[str, tuple[str, ...]] = {}
        self._closing = threading.Event()
        threading.Thread(target=self._supervise, daemon=True).start()

    def _supervise(self) -> None:
        """Restart a supervised process that exits on its own, as systemd's Restart= does."""
        while not self._closing.wait(1.0):
            for name, args in list(self._supervised.items()):
                proc = self.procs.get(name)
                if proc is not None and proc.poll() is not None and not self._closing.is_set():
                    self.restarts.append(f"{name} (exit {proc.returncode})")
                    # Why it exited, in the run's output (a failed check shows it).
                    tail = "\n    ".join(self.log(name).splitlines()[-15:])
                    print(f"  .. {name} exited ({proc.returncode}); its log ended:\n    {tail}")
                    self.spawn(name, *args, supervise=False)

    # --- PostgreSQL and Redis -------------------------------------------------------------

    def start_postgres(self) -> None:
        self.pgdata.mkdir()
        if os.geteuid() == 0:
            shutil.chown(self.pgdata, "postgres", "postgres")
        subprocess.run(
            _as_postgres([_pg_bin("initdb"), "-D", str(self.pgdata), "-U", "postgres",
                          "--auth=trust", "-E", "UTF8", "--no-sync"]),
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        self.pg_ctl("start")
        with psycopg.connect(self.admin_url(), autocommit=True) as conn:
            conn.execute("CREATE DATABASE hazardtrack")

    def pg_ctl(self, action: str, *extra: str) -> None:
        opts = f"-p {self.pg_port} -c listen_addresses=127.0.0.1 -k {self.pgdata} -c fsync=off"
        subprocess.run(
            _as_postgres([_pg_bin("pg_ctl"), "-D", str(self.pgdata), "-w", "-t", "60",
                          "-l", str(self.pgdata / "log"), "-o", opts, action, *extra]),
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip

    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.pg_port}/postgres"

    def start_redis(self) -> None:
        self.procs["redis"] = subprocess.Popen(
            ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--daemonize", "no"],
            stdout=open(self.dir / "redis.log", "a"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        _wait_port(self.redis_port)

    def stop_redis(self) -> None:
        self.stop("redis")

    # --- the project's processes ----------------------------------------------------------

    def hazardtrack(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(BIN / "hazardtrack"), *args], env=self.env, cwd=ROOT, check=check,
            capture_output=True, text=True,
        )  # fmt: skip

    def spawn(self, name: str, *args: str, supervise: bool = True) -> subprocess.Popen:
        if supervise:
            self._supervised[name] = args
        log = open(self.dir / f"{name}.log", "a")
        proc = subprocess.Popen(
            [str(BIN / "hazardtrack"), *args], env=self.env, cwd=ROOT, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        self.procs[name] = proc
        return proc

    def start_api(self) -> None:
        self.spawn("api", "api", "--port", str(self.api_port), "--log-level", "warning")
        _wait_healthz(self.api_port)

    def start_worker(self, name: str = "worker") -> None:
        self.spawn(name, "worker", "--concurrency", "2", "--log-level", "info")

    def start_beat(self, name: str = "beat") -> None:
        self.spawn(name, "beat", "--schedule", str(self.dir / f"{name}-schedule"))

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Signal a process and all its children (a worker's pool) at once; no restart."""
        self._supervised.pop(name, None)
        proc = self.procs.get(name)
        if proc and proc.poll() is None:
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                pass
            proc.wait(timeout=30)

    def stop(self, name: str) -> None:
        proc = self.procs.pop(name, None)
        if proc and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def start(self, *, worker: bool = True, beat: bool = True) -> Stack:
        self.start_postgres()
        self.start_redis()
        self.hazardtrack("migrate")
        self.hazardtrack("create-user", "--username", ADMIN[0], "--password", ADMIN[1],
                         "--role", "admin")  # fmt: skip
        self.start_api()
        if worker:
            self.start_worker()
        if beat:
            self.start_beat()
        return self

    def close(self) -> None:
        self._closing.set()
        for name in list(self.procs):
            if name != "redis":
                self.kill(name, signal.SIGTERM)
        self.stop("redis")
        try:
            self.pg_ctl("stop", "-m", "immediate")
        except Exception:
            pass
        if os.environ.get("HAZARDTRACK_FAULTS_KEEP"):
            print(f"  .. kept {self.dir}")
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- clients --------------------------------------------------------------------------

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.api_port}/api/v1"

    def token(self, username: str = ADMIN[0], password: str = ADMIN[1]) -> dict[str, str]:
        r = httpx.post(f"{self.base}/auth/token", data={"username": username, "password": password})
        r.raise_for_status()
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    def sql(self, query: str, *params: object) -> list[tuple]:
        with psycopg.connect(self.database_url, connect_timeout=5) as conn:
            return conn.execute(query, params).fetchall()

    def wait_until(self, predicate, timeout: float, every: float = 1.0) -> float | None:
        """Seconds until predicate() held, or None if it never did within the timeout."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            try:
                if predicate():
                    return time.monotonic() - start
            except Exception:
                pass
            time.sleep(every)
        return None

    def log(self, name: str) -> str:
        path = self.dir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""


def _wait_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"port {port} did not open")


def _wait_healthz(port: int, timeout: float = 30) -> None:
    """Until GET /healthz answers 200: the API serves, not only listens (a script's first
    request, right after the port opened, once found the connection closed unanswered)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the API on port {port} did not answer /healthz")


# --- data shared by the scripts ---------------------------------------------------------------

COUNTY = "330102000000"
TOWNS = ["330102001000", "330102002000"]
VILLAGES = ["330102001001", "330102002001"]


def seed(stack: Stack, units_per_village: int = 3) -> dict:
    """A county, two townships with a village each, a few units and a township user each."""
    admin = stack.token()
    tree = [("330000000000", "浙江省"), ("330100000000", "杭州市"), (COUNTY, "示范县")]
    tree += [(t, f"镇{i}") for i, t in enumerate(TOWNS)] + [
        (v, f"村{i}") for i, v in enumerate(VILLAGES)
    ]
    for code, name in tree:
        httpx.put(
            f"{stack.base}/regions/{code}", json={"name": name}, headers=admin
        ).raise_for_status()
    units: dict[str, list[str]] = {}
    for town, village in zip(TOWNS, VILLAGES, strict=True):
        units[town] = []
        for i in range(units_per_village):
            body = {"name": f"单位{village}-{i}", "region_code": village, "kind": "shop",
                    "key_supervision": False, "reporting_required": True, "status": "operating"}  # fmt: skip
            r = httpx.post(f"{stack.base}/units", json=body, headers=admin)
            r.raise_for_status()
            units[town].append(r.json()["id"])
        httpx.post(
            f"{stack.base}/users",
            json={"username": f"town-{town}", "password": "town-pass-1", "role": "township",
                  "region_code": town},
            headers=admin,
        ).raise_for_status()  # fmt: skip
    httpx.post(
        f"{stack.base}/users",
        json={
            "username": "county",
            "password": "county-pass-1",
            "role": "county",
            "region_code": COUNTY,
        },
        headers=admin,
    ).raise_for_status()
    return {"units": units}


def marks_pending(stack: Stack) -> int:
    return stack.sql("SELECT count(*) FROM metric_marks")[0][0]


def live_cells(stack: Stack) -> dict:
    """The live figure cells, without their computation times."""
    rows = stack.sql(
        "SELECT to_jsonb(c) - 'computed_at' FROM metric_cells c WHERE view = 'live' "
        "ORDER BY period, region_code"
    )
    out = {}
    for (row,) in rows:
        key = tuple(row.get(k) for k in ("view", "period", "region_code", "level") if k in row)
        out[key] = row
    return out
