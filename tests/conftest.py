"""Test setup: a fresh database built by the migrations, emptied after every test."""

from __future__ import annotations

import os
import tempfile
import uuid

import pytest

from tests import dbserver

# Settings are read from the environment once, so they are fixed before anything imports them.
_SERVER = dbserver.server_url()
_DB_NAME = f"hazardtrack_test_{os.getpid()}"
DATABASE_URL = dbserver.create_database(_SERVER, _DB_NAME)
os.environ["HAZARDTRACK_DATABASE_URL"] = DATABASE_URL
os.environ["HAZARDTRACK_ENV"] = "test"
os.environ.setdefault("HAZARDTRACK_SECRET_KEY", "test-secret-key-of-at-least-32-bytes!!")
os.environ.setdefault("HAZARDTRACK_DATA_DIR", tempfile.mkdtemp(prefix="hazardtrack-test-"))
# Cheap password hashing keeps tests fast; production uses the defaults.
os.environ.setdefault("HAZARDTRACK_ARGON2_TIME_COST", "1")
os.environ.setdefault("HAZARDTRACK_ARGON2_MEMORY_KIB", "1024")
os.environ.setdefault("HAZARDTRACK_BROKER_URL", "redis://127.0.0.1:6379/0")
os.environ.setdefault("HAZARDTRACK_QUEUE", f"hazardtrack-test-{uuid.uuid4().hex[:8]}")

from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import text  # noqa: E402

import migrations  # noqa: E402
from services.db import get_engine, new_session, reset_engine  # noqa: E402
from services.models import Base  # noqa: E402

# Reference data seeded by the migrations survives the cleaning between tests.
KEEP = {"unit_kinds", "hazard_categories", "alembic_version"}


@pytest.fixture(scope="session", autouse=True)
def database():
    migrations.upgrade(DATABASE_URL)
    yield DATABASE_URL
    reset_engine()
    dbserver.drop_database(_SERVER, _DB_NAME)
    _drop_test_queue()


def _drop_test_queue() -> None:
    """Remove this run's Celery queue and bindings from the shared Redis."""
    import redis

    queue = os.environ["HAZARDTRACK_QUEUE"]
    try:
        client = redis.Redis.from_url(os.environ["HAZARDTRACK_BROKER_URL"], socket_timeout=2)
        keys = list(client.scan_iter(match=f"*{queue}*"))
        if keys:
            client.delete(*keys)
    except redis.RedisError:
        pass  # the broker is someone else's concern; the tests are over


@pytest.fixture(autouse=True)
def clean_tables(database):
    yield
    tables = [t.name for t in Base.metadata.sorted_tables if t.name not in KEEP]
    with get_engine().begin() as conn:
        # DELETE is quicker than TRUNCATE on tiny tables; replica mode skips the foreign keys
        # and the append-only triggers, which guard history in production, not test debris.
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        for table in tables:
            conn.execute(text(f"DELETE FROM {table}"))
        conn.execute(text("DELETE FROM unit_kinds WHERE code LIKE 'test_%'"))
        conn.execute(text("DELETE FROM hazard_categories WHERE code LIKE 'test_%'"))


@pytest.fixture
def session():
    s = new_session()
    try:
        yield s
    finally:
        s.rollback()
        s.close()


@pytest.fixture(scope="session")
def app():
    from api.app import create_app

    return create_app()


@pytest.fixture
def client(app):
    with TestClient(app) as c:
        yield c


@pytest.fixture(scope="module")
def worker(database):
    """A real Celery worker for the tests of one module (stopped after it, so it does not
    work through other modules' queued tasks while they fingerprint the database)."""
    from tests.worker_process import running_worker

    with running_worker() as w:
        yield w
