"""The `hazardtrack` command, run as a real process against the test database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from cli import build_parser
from tests import builders

ROOT = Path(__file__).resolve().parents[2]


def hazardtrack(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the installed console script (or `python -m cli` when it is not on disk)."""
    script = Path(sys.executable).parent / "hazardtrack"
    argv = [str(script)] if script.exists() else [sys.executable, "-m", "cli"]
    return subprocess.run(
        [*argv, *args], cwd=ROOT, env=dict(os.environ), capture_output=True, text=True, timeout=120
    )


def test_parser_knows_every_command():
    parser = build_parser()
    for argv in (
        ["dev"],
        ["api", "--host", "0.0.0.0", "--port", "9000", "--workers", "2"],
        ["worker", "--concurrency", "4"],
        ["beat"],
        ["migrate"],
        ["create-user", "--username", "u", "--password", "p", "--role", "admin"],
        ["demo"],
        ["recompute"],
        ["freeze", "2026Q2"],
    ):
        assert parser.parse_args(argv).command == argv[0]


def test_migrate_is_repeatable():
    done = hazardtrack("migrate")
    assert done.returncode == 0, done.stderr
    assert "up to date" in done.stdout


def test_created_admin_can_log_in(client):
    done = hazardtrack(
        "create-user", "--username", "boss", "--password", "long-enough-1", "--role", "admin"
    )
    assert done.returncode == 0, done.stderr
    assert "created admin user boss" in done.stdout

    headers = builders.token(client, "boss", "long-enough-1")
    me = client.get("/api/v1/users/me", headers=headers)
    assert me.status_code == 200, me.text
    assert me.json()["role"] == "admin"


def test_created_township_user_is_scoped(client):
    builders.make_region_tree()
    done = hazardtrack(
        "create-user",
        "--username", "town-a",
        "--password", "long-enough-1",
        "--role", "township",
        "--region-code", builders.TOWN_A,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    me = client.get("/api/v1/users/me", headers=builders.token(client, "town-a", "long-enough-1"))
    assert me.json()["region_code"] == builders.TOWN_A


def test_create_user_refuses_bad_input():
    short = hazardtrack("create-user", "--username", "x", "--password", "short", "--role", "admin")
    assert short.returncode == 1
    assert "8 characters" in short.stderr

    nowhere = hazardtrack(
        "create-user",
        "--username", "y",
        "--password", "long-enough-1",
        "--role", "county",
        "--region-code", "999999000000",
    )  # fmt: skip
    assert nowhere.returncode == 1
    assert "unknown region" in nowhere.stderr

    assert (
        hazardtrack(
            "create-user", "--username", "z", "--password", "long-enough-1", "--role", "admin"
        ).returncode
        == 0
    )
    again = hazardtrack(
        "create-user", "--username", "z", "--password", "long-enough-1", "--role", "admin"
    )
    assert again.returncode == 1
    assert "already taken" in again.stderr


def test_recompute_writes_the_cells_then_only_what_changed():
    builders.make_region_tree()
    builders.make_unit(builders.VILLAGE_A1)
    first = hazardtrack("recompute")
    assert first.returncode == 0, first.stderr
    done = first.stdout.strip().splitlines()[-1]
    cells = int(done.split()[1])
    assert cells > 0 and f"({cells} changed)" in done, first.stdout
    again = hazardtrack("recompute")
    assert again.returncode == 0, again.stderr
    assert f"done: {cells} cells (0 changed)" in again.stdout, again.stdout


def test_the_api_believes_forwarded_addresses_only_from_the_configured_proxies(monkeypatch):
    """The login limit per address counts the client behind a proxy only when the proxy is
    trusted (HAZARDTRACK_FORWARDED_ALLOW_IPS); behind an ingress every client had its address."""
    import uvicorn

    from cli import cmd_api
    from services.settings import get_settings

    seen = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(kw))
    monkeypatch.setattr(get_settings(), "forwarded_allow_ips", "10.0.0.0/8")
    args = build_parser().parse_args(["api", "--workers", "1"])
    assert cmd_api(args) == 0
    assert seen["proxy_headers"] is True
    assert seen["forwarded_allow_ips"] == "10.0.0.0/8"
