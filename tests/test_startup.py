"""What an API process does at start-up, before it serves: checked in a fresh interpreter, where
nothing the test suite imported before is there yet."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Starts the app (its lifespan), then reports which modules were loaded by then and which the
# first write's wake-up of the worker loaded after it.
_PROBE = """
import json, sys
from fastapi.testclient import TestClient
from api.app import create_app
from worker import dispatch

with TestClient(create_app()) as client:
    started = set(sys.modules)
    healthz = client.get("/healthz").status_code
    dispatch.send_recompute()  # what the first write does; the broker is down: it only logs
    later = sorted(m for m in set(sys.modules) - started if m.split(".")[0] in ("celery", "kombu"))
print(json.dumps({"healthz": healthz, "worker_app": "worker.app" in started, "later": later}))
"""


def _probe(script: str, **env: str) -> dict:
    """Run `script` in a fresh interpreter with these settings; the JSON of its last line."""
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


# Nothing listens there: start-up must neither wait for nor fail on the broker.
NO_BROKER = "redis://127.0.0.1:1/0"


def test_the_api_loads_the_celery_producer_before_serving_even_with_the_broker_down(database):
    report = _probe(_PROBE, HAZARDTRACK_DATABASE_URL=database, HAZARDTRACK_BROKER_URL=NO_BROKER)
    assert report["healthz"] == 200
    # Loaded at the first write instead, Celery's import held the GIL for ~0.9 s of CPU while
    # the process served (BENCHMARKS.md, figure 3: a fresh API process's first write).
    assert report["worker_app"] is True
    assert report["later"] == []


# The app without its lifespan (which would open pools to a database that may be away):
# readiness opens its own connection.
_READY_PROBE = """
import json
from fastapi.testclient import TestClient
from api.app import create_app

r = TestClient(create_app()).get("/readyz")
print(json.dumps({"status": r.status_code, "body": r.json()}))
"""


def test_a_broker_outage_does_not_take_the_api_out_of_service(database):
    """Readiness is the database's: with Redis down every replica went NotReady at once, and
    the writes that keep their marks in PostgreSQL through the outage had nowhere to go."""
    report = _probe(
        _READY_PROBE, HAZARDTRACK_DATABASE_URL=database, HAZARDTRACK_BROKER_URL=NO_BROKER
    )
    assert report == {
        "status": 200,
        "body": {"status": "ok", "database": "ok", "broker": "unavailable"},
    }
    # With the database away it is not ready.
    report = _probe(
        _READY_PROBE,
        HAZARDTRACK_DATABASE_URL="postgresql://postgres@127.0.0.1:1/nowhere",
        HAZARDTRACK_BROKER_URL=NO_BROKER,
    )
    assert report["status"] == 503 and report["body"]["database"].startswith("unavailable")
