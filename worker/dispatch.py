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
    global _next_allowed
    debounce = get_settings().recompute_debounce_seconds
    now = time.monotonic()
    with _lock:
        if now < _next_allowed:
            return
        _next_allowed = now + debounce
    try:
        from worker.app import send

        send("worker.tasks.recompute_marked", countdown=debounce)
    except Exception as exc:  # broker down: the marks wait in PostgreSQL
        log.warning("could not send recompute task: %s", exc)
        with _lock:
            _next_allowed = 0.0
