"""The benchmarks run: a tiny generation and the recompute bench, in subprocesses (under 30 s)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture
def bench_db(database):
    from tests import dbserver

    server = dbserver.server_url()
    name = f"hazardtrack_bench_smoke_{uuid.uuid4().hex[:8]}"
    yield server, name
    dbserver.drop_database(server, name)


def _run(args: list[str], server: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAZARDTRACK_")}
    env["BENCH_SERVER_URL"] = server
    env["BENCH_RESULTS"] = os.devnull
    proc = subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_generate_and_recompute_bench_at_tiny_scale(bench_db):
    server, name = bench_db
    out = _run(["bench/generate.py", "--scale", "tiny", "--db", name], server)
    assert "units 120/120" in out and "FIGURE generate[tiny]" in out
    with psycopg.connect(server.rsplit("/", 1)[0] + "/" + name) as conn:
        hazards, mix = conn.execute(
            "SELECT count(*), count(DISTINCT (status, handling)) FROM hazards"
        ).fetchone()
        overdue = conn.execute(
            "SELECT count(*) FROM hazards WHERE status IN ('reported', 'rectifying') "
            "AND deadline < now()"
        ).fetchone()[0]
        proxy = conn.execute("SELECT count(*) FROM self_reports WHERE NOT filed_by_unit")
        proxy = proxy.fetchone()[0]
        late = conn.execute(
            "SELECT count(*) FROM hazards WHERE received_at > found_at + interval '1 day'"
        ).fetchone()[0]
    assert 2000 < hazards < 5000 and mix >= 5 and overdue and proxy and late
    mode = "celery" if _redis_up() else "inline"
    out = _run(
        [
            "bench/bench_recompute.py",
            "--scale",
            "tiny",
            "--db",
            name,
            "--mode",
            mode,
            "--repeat",
            "1",
            "--skip-scaleout",
        ],
        server,
    )
    for figure in (
        "baseline_sql_tz_at_query_time",
        "1e_full_recompute_into_empty_cells",
        "1_full_recompute",
        "5_worker_peak_rss",
    ):
        assert f"FIGURE {figure}:" in out
    assert "ratio" in out


def test_forget_posted_deletes_what_a_bench_user_posted_and_nothing_else(bench_db):
    """The benchmarks that post delete their own records at the end, so the database keeps its
    generated size (it once grew to six times it)."""
    from bench.common import ensure_user, forget_posted

    server, name = bench_db
    _run(["bench/generate.py", "--scale", "tiny", "--db", name], server)
    url = server.rsplit("/", 1)[0] + "/" + name
    region = "330101000000"  # a county of the generated data
    ensure_user(url, "bench-poster", "inspector", region)
    counts = "SELECT (SELECT count(*) FROM hazards), (SELECT count(*) FROM inspections)"
    with psycopg.connect(url) as conn:
        generated = conn.execute(counts).fetchone()
        # A copy of a generated inspection and its hazards, posted by the bench user.
        conn.execute(
            """
            WITH u AS (SELECT id FROM users WHERE username = 'bench-poster'),
            i AS (SELECT * FROM inspections WHERE id IN (SELECT inspection_id FROM hazards)
                  LIMIT 1),
            new_i AS (
                INSERT INTO inspections (id, unit_id, region_code, kind, inspected_at,
                    inspected_month, inspectors, departments, created_by, request_hash)
                SELECT gen_random_uuid(), i.unit_id, i.region_code, i.kind, i.inspected_at,
                       i.inspected_month, i.inspectors, i.departments, u.id, 'x'
                FROM i, u RETURNING id)
            INSERT INTO hazards (id, unit_id, region_code, inspection_id, source, level,
                category, description, handling, found_at, found_month, status,
                initial_deadline, deadline, created_by, request_hash)
            SELECT gen_random_uuid(), h.unit_id, h.region_code, new_i.id, h.source, h.level,
                   h.category, h.description, h.handling, h.found_at, h.found_month, h.status,
                   h.initial_deadline, h.deadline, u.id, 'x'
            FROM hazards h JOIN i ON h.inspection_id = i.id, new_i, u
            """
        )
        posted = conn.execute(counts).fetchone()
    assert posted[0] > generated[0] and posted[1] == generated[1] + 1
    assert forget_posted(url, "bench-poster") == posted[0] - generated[0]
    with psycopg.connect(url) as conn:
        assert conn.execute(counts).fetchone() == generated
    assert forget_posted(url, "nobody-here") == 0


def test_cpu_accounting_names_every_kind_of_process():
    """Debian's clusters and an embedded server title their processes differently; a title
    the grouping did not expect once failed the recompute bench."""
    from bench.common import _cpu_group

    assert _cpu_group("postgres: 15/main: postgres db 127.0.0.1(5) idle") == "postgres backends"
    assert _cpu_group("postgres: postgres db [local] SELECT") == "postgres backends"
    assert _cpu_group("postgres: 15/main: checkpointer ") == "postgres checkpointer"
    assert _cpu_group("postgres: checkpointer ") == "postgres checkpointer"
    assert _cpu_group("postgres: parallel worker for PID 5 ") == "postgres parallel worker"
    assert _cpu_group("postgres:") == "postgres "
    assert _cpu_group("python -m cli worker --pool solo") == "celery workers"
    assert _cpu_group("") == "other processes"


def test_peak_rss_counts_a_process_family_and_its_largest_process(capsys, monkeypatch):
    """Figure 5 for the API reads a process with its children both ways: all of them (the
    whole API, uvicorn's supervisor and workers) and the largest one alone."""
    from bench import common
    from bench.common import PeakRss, report_api_rss

    monkeypatch.setattr(common, "RESULTS", os.devnull)
    child = subprocess.Popen(
        [sys.executable, "-c", "import time; x = bytearray(80_000_000); time.sleep(30)"]
    )
    try:
        with PeakRss([os.getpid()]) as rss:
            deadline = time.monotonic() + 20
            while rss.single_mb() < 80 and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(0.2)
    finally:
        child.kill()
        child.wait()
    assert rss.single_mb() >= 80  # the child alone, with its 80 MB
    assert rss.max_mb() > rss.single_mb() + 10  # the child and this test's process together

    report_api_rss("5_api_test", 348.0, 153.0, api_workers=2)
    whole, largest = capsys.readouterr().out.splitlines()
    assert whole.startswith("FIGURE 5_api_test: 348.000 MB") and whole.endswith("MISS")
    assert "supervisor + 2 worker processes" in whole
    assert largest.startswith("FIGURE 5_api_test_largest_process: 153.000 MB")
    assert largest.endswith("PASS")


def test_cold_start_bench_at_tiny_scale(bench_db):
    server, name = bench_db
    _run(["bench/generate.py", "--scale", "tiny", "--db", name], server)
    out = _run(
        [
            "bench/bench_coldstart.py",
            "--scale",
            "tiny",
            "--db",
            name,
            "--starts",
            "1",
            "--after",
            "3",
        ],
        server,
    )
    assert "start 1: first POST" in out
    assert "FIGURE 3_first_post_after_start:" in out and "ratio" in out
