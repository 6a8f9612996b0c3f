"""The `hazardtrack` command: run the API, worker and beat, migrate, and operator chores."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

DEV_HOST = "127.0.0.1"
DEV_PORT = 8000


def _say(message: str) -> None:
    print(message, flush=True)


def _settings():
    from services.settings import get_settings

    return get_settings()


def _database_url() -> str:
    from services.db import database_url

    return database_url(_settings())


# --- commands -------------------------------------------------------------------------------


def cmd_migrate(args: argparse.Namespace) -> int:
    import migrations

    _say("migrating the database to the latest schema …")
    migrations.upgrade(_database_url())
    _say("database is up to date")
    return 0


def cmd_api(args: argparse.Namespace) -> int:
    import uvicorn

    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        proxy_headers=True,
        forwarded_allow_ips=_settings().forwarded_allow_ips,
        access_log=False,  # api.observability logs each request as JSON with its id
        log_level=args.log_level,
    )
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from worker.app import celery_app

    # Gossip, mingle and heartbeats are for worker-to-worker chatter we do not use, and gossip's
    # reconnect crashes the worker when a Redis broker goes away (kombu issue 582).
    argv = [
        "worker",
        f"--loglevel={args.log_level.upper()}",
        f"--pool={args.pool}",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]
    if args.concurrency:
        argv.append(f"--concurrency={args.concurrency}")
    celery_app.start(argv)
    return 0


def cmd_beat(args: argparse.Namespace) -> int:
    from worker.app import celery_app

    schedule = (
        Path(args.schedule) if args.schedule else _settings().data_dir / "celerybeat-schedule"
    )
    schedule.parent.mkdir(parents=True, exist_ok=True)
    celery_app.start(
        ["beat", f"--loglevel={args.log_level.upper()}", f"--schedule={schedule.resolve()}"]
    )
    return 0


def cmd_create_user(args: argparse.Namespace) -> int:
    from services import auth
    from services.actors import SYSTEM
    from services.db import unit_of_work
    from services.errors import DomainError

    try:
        with unit_of_work() as session:
            user = auth.create_user(
                session,
                SYSTEM,
                username=args.username,
                password=args.password,
                role=args.role,
                region_code=args.region_code,
                unit_id=uuid.UUID(args.unit_id) if args.unit_id else None,
            )
            user_id = user.id
    except (DomainError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    _say(f"created {args.role} user {args.username} ({user_id})")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from services import demo
    from services.db import unit_of_work

    with unit_of_work() as session:
        if demo.has_data(session):
            _say("the database already has regions; demo data not loaded")
            return 0
        summary = demo.load(session, progress=_say)
    _print_summary(summary)
    _say("demo data loaded")
    return 0


def cmd_recompute(args: argparse.Namespace) -> int:
    from services.db import unit_of_work
    from services.metrics import refresh
    from services.periods import parse_period

    with unit_of_work() as session:
        periods = (
            refresh.expand([parse_period(args.period)])
            if args.period
            else refresh.all_periods(session)
        )
        townships = refresh.slices(session, args.region)
    _say(
        f"recomputing live figures: {len(townships)} slices (townships, or counties) × {len(periods)} periods"
    )
    started, cells, written = time.monotonic(), 0, 0
    for i, township in enumerate(townships, 1):
        # One transaction per township, as the worker does: a failure keeps the others' work.
        with unit_of_work() as session:
            r = refresh.recompute_township(session, township=township, periods=periods)
        cells, written = cells + r.cells, written + r.written
        _say(f"  [{i}/{len(townships)}] {township}: {r.cells} cells, {r.written} changed")
    _say(f"done: {cells} cells ({written} changed) in {time.monotonic() - started:.1f} s")
    return 0


def cmd_freeze(args: argparse.Namespace) -> int:
    from services.db import unit_of_work
    from services.errors import DomainError
    from services.metrics import refresh

    _say(f"freezing {args.period} as of its cut-off …")
    try:
        with unit_of_work() as session:
            won = refresh.freeze_quarter(session, period=args.period)
    except (DomainError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    _say(f"frozen {args.period}" if won else f"{args.period} was already frozen; nothing changed")
    return 0


def cmd_import_units(args: argparse.Namespace) -> int:
    """Import units from a CSV or XLSX file, a batch at a time, reporting as it goes."""
    from services import unit_import
    from services.actors import SYSTEM
    from services.db import unit_of_work
    from services.errors import DomainError

    path = Path(args.file)
    try:
        rows = unit_import.read_rows(path.read_bytes(), path.name)
    except (OSError, DomainError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    batches = [rows[i : i + args.batch] for i in range(0, len(rows), args.batch)] or [[]]
    _say(f"importing {len(rows)} rows from {path.name} in {len(batches)} batches …")
    totals = {"created": 0, "updated": 0, "rejected": 0}
    rejected: list[dict] = []
    started = time.monotonic()
    with unit_of_work() as session:  # one transaction: the file goes in whole or not at all
        for i, batch in enumerate(batches, 1):
            result = unit_import.import_rows(session, SYSTEM, batch)
            for key in totals:
                totals[key] += result[key]
            rejected += [r for r in result["rows"] if r.get("result") == "rejected"]
            done = sum(len(b) for b in batches[:i])
            _say(
                f"  [{i}/{len(batches)}] {done}/{len(rows)} rows: "
                + ", ".join(f"{v} {k}" for k, v in totals.items())
            )
    for row in rejected[:20]:
        _say(f"  row {row.get('row')}: rejected: {row.get('errors')}")
    if len(rejected) > 20:
        _say(f"  … and {len(rejected) - 20} more rejected rows")
    _say(
        f"done in {time.monotonic() - started:.1f} s: "
        + ", ".join(f"{v} {k}" for k, v in totals.items())
    )
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """The work summary of a region and period, as Markdown or DOCX, with progress."""
    from services import summary
    from services.actors import SYSTEM
    from services.db import unit_of_work
    from services.errors import DomainError

    fmt = args.format or (Path(args.out).suffix.lstrip(".") if args.out else "md")
    if fmt not in summary.FORMATS:
        print(f"error: format must be one of {', '.join(summary.FORMATS)}", file=sys.stderr)
        return 2
    started = time.monotonic()
    command = (
        f"hazardtrack report --region {args.region} --period {args.period}"
        + (f" --view {args.view}" if args.view != "live" else "")
        + f" --format {fmt}"
        + (f" --out {args.out}" if args.out else "")
    )
    _say(f"[1/3] reading the figures of {args.region} for {args.period} ({args.view}) …")
    try:
        with unit_of_work() as session:
            built = summary.build(
                session,
                actor=SYSTEM,
                region=args.region,
                period=args.period,
                view=args.view,
                progress=lambda m: _say("      " + m),
            )
    except DomainError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    _say(f"[2/3] writing {built.title} as {fmt} …")
    content = summary.render(built, fmt, command=command if args.stamp else None)
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(content)
        _say(f"[3/3] wrote {out} ({len(content)} bytes) in {time.monotonic() - started:.1f} s")
    else:
        sys.stdout.flush()
        sys.stdout.buffer.write(content)
        sys.stdout.buffer.flush()
    return 0


# --- dev: everything in one go --------------------------------------------------------------


def _print_summary(summary: dict | None) -> None:
    if not summary:
        return
    counts = summary.get("counts") or {}
    if counts:
        _say("  " + ", ".join(f"{v} {k}" for k, v in counts.items()))
    logins = summary.get("logins") or []
    if logins:
        _say("demo logins (username / password / role / region):")
        for row in logins:
            _say(f"  {row['username']:<16} {row['password']:<18} {row['role']:<10} {row['region']}")


def _start_embedded(data_dir: Path) -> str:
    """Start the embedded PostgreSQL, stopped again when this process exits, and return its URL."""
    import pgserver

    from services.db import embedded_database_url

    pgdata = (data_dir / "pgdata").resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    # This handle asks for the server to stop when `dev` exits; services.db joins it.
    pgserver.get_server(str(pgdata), cleanup_mode="stop")
    return embedded_database_url(_settings())


def _stop_children(children: list[tuple[str, subprocess.Popen]], grace: float = 10.0) -> None:
    for _, proc in children:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for name, proc in children:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _say(f"{name} did not stop in time; killing it")
            proc.kill()
            proc.wait()


def cmd_dev(args: argparse.Namespace) -> int:
    from services.settings import get_settings

    data_dir = Path(os.environ.get("HAZARDTRACK_DATA_DIR", ".data")).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    os.environ["HAZARDTRACK_DATA_DIR"] = str(data_dir)
    get_settings.cache_clear()

    if not os.environ.get("HAZARDTRACK_DATABASE_URL"):
        _say(f"starting the embedded PostgreSQL under {data_dir / 'pgdata'} …")
        os.environ["HAZARDTRACK_DATABASE_URL"] = _start_embedded(data_dir)
        get_settings.cache_clear()

    if cmd_migrate(args) != 0:
        return 1

    from services import demo
    from services.db import reset_engine, unit_of_work

    with unit_of_work() as session:
        empty = not demo.has_data(session)
    if empty:
        _say("empty database: loading the demo data …")
        with unit_of_work() as session:
            summary = demo.load(session, progress=_say)
    else:
        summary = {"logins": demo.LOGINS if hasattr(demo, "LOGINS") else []}
    reset_engine()

    me = [sys.executable, "-m", "cli"]
    children: list[tuple[str, subprocess.Popen]] = []
    specs = [
        ("api", [*me, "api", "--host", args.host, "--port", str(args.port)]),
        ("worker", [*me, "worker", "--pool", "solo"]),
        ("beat", [*me, "beat", "--schedule", str(data_dir / "celerybeat-schedule")]),
    ]
    here = str(Path(__file__).resolve().parent)
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join(filter(None, [here, os.environ.get("PYTHONPATH")]))
    )

    stopping = False

    def _on_term(signum, frame):  # SIGTERM: stop like Ctrl-C does
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _on_term)
    try:
        for name, cmd in specs:
            children.append((name, subprocess.Popen(cmd, env=env)))
        base = f"http://{args.host}:{args.port}"
        _say("")
        _say("Hazardtrack is starting (API, worker and beat); Ctrl-C stops everything.")
        _say(f"  API docs : {base}/docs")
        _say(f"  health   : {base}/healthz")
        _say(f"  API base : {base}/api/v1")
        _say(f"  metrics  : {base}/metrics")
        _say(f"  data dir : {data_dir}")
        _print_summary({"logins": summary.get("logins") if summary else []})
        _say("")
        while True:
            for name, proc in children:
                code = proc.poll()
                if code is not None:
                    _say(f"{name} exited with code {code}; stopping the others")
                    return code or 1
            time.sleep(0.5)
    except KeyboardInterrupt:
        stopping = True
        _say("stopping …")
        return 0
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        # Ignore further Ctrl-C while the children shut down.
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        _stop_children(children)
        signal.signal(signal.SIGINT, previous)
        if stopping:
            _say("stopped")


# --- argument parsing -----------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hazardtrack",
        description="Hazardtrack: work-safety hazard inspection and rectification service.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("dev", help="API, worker and beat in one go, with demo data (no config)")
    p.add_argument("--host", default=DEV_HOST)
    p.add_argument("--port", type=int, default=DEV_PORT)
    p.set_defaults(func=cmd_dev)

    p = sub.add_parser("api", help="run the HTTP API (uvicorn)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    p.add_argument("--log-level", default="info")
    p.set_defaults(func=cmd_api)

    p = sub.add_parser("worker", help="run a Celery worker (figures, freezing)")
    p.add_argument("--concurrency", type=int, default=0, help="processes/threads (default: CPUs)")
    p.add_argument("--pool", default="prefork", choices=["prefork", "threads", "solo"])
    p.add_argument("--log-level", default="info")
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("beat", help="run the Celery beat scheduler (exactly one per deployment)")
    p.add_argument("--schedule", help="schedule state file (default: DATA_DIR/celerybeat-schedule)")
    p.add_argument("--log-level", default="info")
    p.set_defaults(func=cmd_beat)

    p = sub.add_parser("migrate", help="upgrade the database schema to the latest migration")
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("create-user", help="create a user (the first admin, for one)")
    p.add_argument("--username", required=True)
    p.add_argument("--password", required=True)
    p.add_argument(
        "--role", required=True, choices=["admin", "county", "township", "inspector", "unit"]
    )
    p.add_argument("--region-code")
    p.add_argument("--unit-id")
    p.set_defaults(func=cmd_create_user)

    p = sub.add_parser(
        "demo", help="load the demo county, units, users and records into an empty database"
    )
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("recompute", help="recompute live figures now (all, or a region/period)")
    p.add_argument("--region", help="only this region's townships (a 12-digit code)")
    p.add_argument("--period", help="only this period and those it contains (2026Q2, 2026 …)")
    p.set_defaults(func=cmd_recompute)

    p = sub.add_parser("import-units", help="import units from a CSV (UTF-8/GB18030) or XLSX file")
    p.add_argument("file")
    p.add_argument("--batch", type=int, default=500, help="rows per progress step")
    p.set_defaults(func=cmd_import_units)

    p = sub.add_parser("report", help="the work summary (工作总结) of a region and period")
    p.add_argument("--region", required=True, help="a 12-digit region code (county or township)")
    p.add_argument("--period", required=True, help="a quarter (2026Q3), half-year (2026H1) or year")
    p.add_argument("--format", choices=["md", "docx"], help="default: from --out's suffix, else md")
    p.add_argument("--out", help="file to write (default: Markdown on standard output)")
    p.add_argument("--view", choices=["live", "frozen"], default="live")
    p.add_argument(
        "--stamp", action="store_true", help="write the command that made it into the document"
    )
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("freeze", help="freeze a quarter's figures (e.g. 2026Q2)")
    p.add_argument("period")
    p.set_defaults(func=cmd_freeze)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
