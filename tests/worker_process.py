"""A real Celery worker process on this test run's queue, broker and database."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from worker.app import QUEUE


@dataclass
class WorkerProcess:
    proc: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


@contextmanager
def running_worker(timeout: float = 60) -> Iterator[WorkerProcess]:
    log = tempfile.NamedTemporaryFile(prefix="celery-", suffix=".log", delete=False)
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "worker.app:celery_app", "worker",
         "--pool=solo", "-Q", QUEUE, "--loglevel=INFO", "--without-gossip",
         "--without-mingle", "--without-heartbeat"],
        env=dict(os.environ),
        stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    worker = WorkerProcess(proc, Path(log.name))
    try:
        deadline = time.monotonic() + timeout
        while b" ready." not in worker.log_path.read_bytes():
            if proc.poll() is not None:
                raise RuntimeError("the Celery worker exited:\n" + worker.log())
            if time.monotonic() > deadline:
                raise RuntimeError("the Celery worker did not become ready:\n" + worker.log())
            time.sleep(0.2)
        yield worker
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
