"""The Celery app. Tasks take ids or bucket keys, ack late, and are sent only after a commit."""

from __future__ import annotations

import os

from celery import Celery

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

celery_app = Celery("hazardtrack", broker=broker_url(), include=["worker.tasks"])
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


def broker_reachable(timeout: float = 1.0) -> bool:
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=timeout)
        return True
    except Exception:
        return False
