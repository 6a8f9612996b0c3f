"""The Celery app. Tasks take ids or bucket keys, ack late, and are sent only after a commit."""

from __future__ import annotations

import logging
import os

import structlog
from celery import Celery, Task
from celery.signals import setup_logging

from services.settings import get_settings
from worker.schedule import BEAT_SCHEDULE


def broker_url() -> str:
    settings = get_settings()
    if settings.broker_url:
        return settings.broker_url
    # No broker configured: a filesystem transport under the data directory needs no server.
    return "filesystem://"


def _transport_options() -> dict:
    settings = get_settings()
    if settings.broker_url:
        return {"visibility_timeout": 3600}
    folder = (settings.data_dir / "broker").resolve()
    for sub in ("queue", "processed", "control"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    return {
        "data_folder_in": str(folder / "queue"),
        "data_folder_out": str(folder / "queue"),
        "processed_folder": str(folder / "processed"),
        "store_processed": False,
        "control_folder": str(folder / "control"),  # broadcast (pidbox) files, else in the cwd
    }


QUEUE = os.environ.get("HAZARDTRACK_QUEUE", "hazardtrack")

log = structlog.get_logger("hazardtrack.worker")


class RequestBoundTask(Task):
    """Runs a task with the id of the request that caused it bound to every log line."""

    def __call__(self, *args, **kwargs):
        request_id = kwargs.pop("request_id", None)
        structlog.contextvars.clear_contextvars()
        if request_id:
            structlog.contextvars.bind_contextvars(request_id=request_id)
        log.info("task started", task=self.name, task_id=self.request.id)
        return super().__call__(*args, **kwargs)


celery_app = Celery(
    "hazardtrack", broker=broker_url(), include=["worker.tasks"], task_cls=RequestBoundTask
)
celery_app.conf.update(
    broker_transport_options=_transport_options(),
    broker_connection_retry_on_startup=True,
    # A send from the API must fail fast when the broker is away: the marks wait in PostgreSQL.
    broker_connection_timeout=2,
    task_default_queue=QUEUE,
    task_acks_late=True,  # a task is acknowledged only when it has finished
    task_reject_on_worker_lost=True,  # …and goes back to the queue if the worker dies
    worker_prefetch_multiplier=1,
    task_ignore_result=True,  # task status is kept in PostgreSQL (task_runs), not a result backend
    task_serializer="json",
    accept_content=["json"],
    timezone=get_settings().timezone,
    enable_utc=True,
    beat_schedule=BEAT_SCHEDULE,  # the periodic work, one commented entry each
)


@setup_logging.connect
def _json_logs(**_: object) -> None:
    """Worker and beat log JSON lines like the API (Celery leaves logging to us)."""
    from services.logs import configure_logging

    configure_logging(logging.INFO, own_process=True)


def send(task: str, *, countdown: float | None = None, **kwargs) -> None:
    """Queue a task by name, carrying the current request id so its logs can be joined."""
    request_id = structlog.contextvars.get_contextvars().get("request_id")
    if request_id:
        kwargs["request_id"] = request_id
    celery_app.send_task(task, kwargs=kwargs, countdown=countdown, retry=False)


def broker_reachable(timeout: float = 1.0) -> bool:
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=timeout)
        return True
    except Exception:
        return False
