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

    kombu 5.7's Redis channel, once the connection is lost, still tries to reach Redis through
    it: closing, it puts its unacknowledged messages back; and a task that finishes during the
    outage has its (late) ack or reject run after the worker reconnected, on the old channel.
    Each ends in an AttributeError that stops the worker (exit 0, so `Restart=on-failure`
    would not even restart it; seen in tests/faults/redis_outage.py under load). Those
    messages are still in Redis' unacked index and come back after the visibility timeout,
    and every task is safe to run twice (the marks live in PostgreSQL). So the worker lets go
    of them and carries on, as it does when nothing was in flight.
    """
    from kombu.transport import redis as redis_transport

    def guarded(name: str, drop) -> None:
        original = getattr(redis_transport.QoS, name)
        if getattr(original, "_hazardtrack_guard", False):
            return

        def method(self, *args, **kwargs):
            try:
                return original(self, *args, **kwargs)
            except AttributeError:
                conn = self.channel.connection
                if conn is not None and conn.client is not None:
                    raise  # not the lost connection: a real error
                log.warning(
                    "broker connection lost with unacknowledged tasks; Redis redelivers them",
                    step=name,
                )
                drop(self, *args)

        method._hazardtrack_guard = True
        setattr(redis_transport.QoS, name, method)

    guarded("restore_unacked", lambda qos, *_: qos._delivered.clear())
    guarded("ack", lambda qos, tag, *_: qos._delivered.pop(tag, None))
    guarded("reject", lambda qos, tag, *_: qos._delivered.pop(tag, None))


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
