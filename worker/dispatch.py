"""Wakes the worker after a commit that marked figure buckets, debounced per process.

The marks themselves are in PostgreSQL, so a send that fails (broker down) loses nothing: the
next send, the worker's start-up sweep or beat's catch-up picks them up.
"""

from __future__ import annotations

import logging
import threading
import time

from services.settings import get_settings

log = logging.getLogger(__name__)
_lock = threading.Lock()
_next_allowed = 0.0


def figures_changed() -> None:
    """Ask for a recompute of marked buckets, at most once per debounce window.

    The task runs `debounce` seconds after it is sent, so every write committed in that window
    is covered by it, and a burst of writes costs one task.
    """
    if due():
        send_recompute()


def due() -> bool:
    """Whether this commit opens a new debounce window (and so must send the task): the
    event loop's writes ask this first and send, a blocking call, in a thread only then."""
    global _next_allowed
    now = time.monotonic()
    with _lock:
        if now < _next_allowed:
            return False
        _next_allowed = now + get_settings().recompute_debounce_seconds
        return True


def warm_up() -> None:
    """Load the Celery app and its producer pool now, at the API's start-up, not on the first
    write that needs them.

    Imported there, they held the GIL for ~0.9 s of CPU in the middle of serving: the first
    write after each start of an API process answered in 0.7-1.1 s, and every request that
    process held waited behind it (BENCHMARKS.md, figure 3: a fresh API process's first
    write). Nothing is sent and no broker is reached here (the producer connects on its first
    send), so a broker that is down delays no start-up.
    """
    from worker.app import celery_app

    with celery_app.producer_or_acquire():
        pass
    # A send also loads the result backend and the task-sent events' dispatcher (~20 ms more).
    celery_app.backend  # noqa: B018
    celery_app.events.Dispatcher  # noqa: B018


def send_recompute() -> None:
    global _next_allowed
    try:
        from worker.app import send

        send("worker.tasks.recompute_marked", countdown=get_settings().recompute_debounce_seconds)
    except Exception as exc:  # broker down: the marks wait in PostgreSQL
        log.warning("could not send recompute task: %s", exc)
        with _lock:
            _next_allowed = 0.0
