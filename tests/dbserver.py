"""Find a PostgreSQL for the tests: the local server if it answers, else an embedded one."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import psycopg


def _local_server_up(host: str = "127.0.0.1", port: int = 5432) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def server_url() -> str:
    """URL of a maintenance database on a running server (no database name chosen yet)."""
    if os.environ.get("HAZARDTRACK_TEST_SERVER_URL"):
        return os.environ["HAZARDTRACK_TEST_SERVER_URL"]
    if _local_server_up():
        return "postgresql://postgres@127.0.0.1:5432/postgres"
    import pgserver

    root = Path(__file__).resolve().parent.parent / ".data" / "test-pgdata"
    root.parent.mkdir(parents=True, exist_ok=True)
    return pgserver.get_server(str(root), cleanup_mode=None).get_uri("postgres")


def with_database(url: str, name: str) -> str:
    base, _, query = url.partition("?")
    base = base.rsplit("/", 1)[0] + "/" + name
    return base + ("?" + query if query else "")


def create_database(url: str, name: str) -> str:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
        # Test data need not survive a crash: skip waiting for the disk on every commit.
        conn.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    return with_database(url, name)


def drop_database(url: str, name: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
