"""The quick fault scripts in the normal suite: one worker kill, a 5 s Redis outage, a restart.

Each starts its own PostgreSQL and Redis on free ports; the machine's services are untouched.
"""

from __future__ import annotations

import shutil

import pytest

from tests.faults import kill_worker, postgres_restart, redis_outage

pytestmark = pytest.mark.skipif(
    shutil.which("redis-server") is None, reason="needs redis-server and PostgreSQL binaries"
)


def test_worker_killed_during_full_recompute():
    assert kill_worker.run(kills=1) == 0


def test_postgres_restart_while_posting():
    assert postgres_restart.run(restarts=1) == 0


def test_redis_outage_while_posting():
    assert redis_outage.run(seconds=5, catch_up_timeout=75) == 0
