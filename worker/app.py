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


def _survive_broker_loss_with_unacked_tasks() -> None:
    """Keep the worker alive when a Redis broker goes away while tasks are unacknowledged.

    kombu 5.7's Redis channel, closing after the connection was lost, tries to put its
    unacknowledged messages back through a connection that no longer exists, and the
    AttributeError ends the worker (exit 0, so `Restart=on-failure` would not even restart it).
    The messages are still in Redis' unacked index and come back after the visibility timeout;
    the figures never depended on them, since the marks live in PostgreSQL. So the worker lets
    go of them and reconnects, as it does when nothing was in flight.
    """
    from kombu.transport import redis as redis_transport

    original = redis_transport.QoS.restore_unacked
    if getattr(original, "_hazardtrack_guard", False):
        return

    def restore_unacked(self, client=None):
        try:
            return original(self, client)
        except AttributeError:
            if self.channel.connection is not None and self.channel.connection.client is not None:
                raise
            log.warning("broker connection lost with unacknowledged tasks; Redis redelivers them")
            self._delivered.clear()

    restore_unacked._hazardtrack_guard = True
    redis_transport.QoS.restore_unacked = restore_unacked


_survive_broker_loss_with_unacked_tasks()


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
