"""Task runs: the status of a background job someone asked for (GET /api/v1/tasks/{id})."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import DateTime, func, select, text
from sqlalchemy.orm import Session

from services.actors import Actor
from services.errors import NotFound
from services.models import TaskRun
from services.regions import contains


def create_run(session: Session, *, kind: str, params: dict[str, Any]) -> TaskRun:
    run = TaskRun(id=uuid.uuid4(), kind=kind, params=params, status="pending")
    session.add(run)
    session.flush()
    return run


def stale_pending(session: Session, *, older_than_seconds: int = 60) -> list[TaskRun]:
    """Runs still pending a while after they were asked for (their send was probably lost)."""
    return list(
        session.scalars(
            select(TaskRun)
            .where(
                TaskRun.status == "pending",
                TaskRun.kind.in_(("recompute", "freeze")),
                TaskRun.created_at < func.now() - timedelta(seconds=older_than_seconds),
            )
            .limit(100)
        )
    )


# A full recompute whose slices are missing and none of which finished for this long has lost
# one with its worker (SIGKILL, a pod stopped mid-slice). Redis hands the message back only
# after its visibility timeout, an hour; the catch-up sends the missing slices again sooner. A
# slice takes seconds; one merely slow and sent twice waits for its township's lock and
# computes the same cells again.
STALLED_AFTER_SECONDS = 180


def stalled_recomputes(
    session: Session, *, quiet_seconds: int = STALLED_AFTER_SECONDS
) -> list[TaskRun]:
    """Full recomputes running with slices missing and no slice finished for `quiet_seconds`."""
    last_progress = func.coalesce(
        func.cast(TaskRun.params["progress_at"].astext, DateTime(timezone=True)),
        TaskRun.started_at,
    )
    return [
        run
        for run in session.scalars(
            select(TaskRun)
            .where(
                TaskRun.status == "running",
                TaskRun.kind == "recompute",
                TaskRun.params.has_key("slice_keys"),
                last_progress < func.now() - timedelta(seconds=quiet_seconds),
            )
            .limit(100)
        )
        if missing_slices(run)
    ]


def missing_slices(run: TaskRun) -> list[str]:
    done = set(run.params.get("done") or [])
    return [key for key in run.params.get("slice_keys") or [] if key not in done]


def touch(session: Session, run_id: uuid.UUID | str) -> None:
    """Count now as progress: slices sent again get their own time before the next check."""
    session.execute(
        text(
            "UPDATE task_runs SET params = params || jsonb_build_object('progress_at', now()) "
            "WHERE id = :id"
        ),
        {"id": str(run_id)},
    )


def get_run(session: Session, run_id: uuid.UUID, *, actor: Actor) -> TaskRun:
    """A run the caller may see: one asked for in its subtree (admins see all)."""
    run = session.get(TaskRun, run_id)
    if run is None:
        raise NotFound("task", run_id)
    region = (run.params or {}).get("region")
    if actor.scope is not None and not (region and contains(actor.scope, region)):
        raise NotFound("task", run_id)
    return run


def start(session: Session, run_id: uuid.UUID | str, **params: Any) -> None:
    session.execute(
        text(
            "UPDATE task_runs SET status = 'running', started_at = coalesce(started_at, now()), "
            "params = params || CAST(:p AS jsonb) WHERE id = :id AND status <> 'failed'"
        ),
        {"id": str(run_id), "p": _json(params)},
    )


def finish(session: Session, run_id: uuid.UUID | str, *, error: str | None = None) -> None:
    session.execute(
        text(
            "UPDATE task_runs SET status = :s, finished_at = now(), error = :e, "
            "started_at = coalesce(started_at, now()) WHERE id = :id"
        ),
        {"id": str(run_id), "s": "failed" if error else "succeeded", "e": error},
    )


def slice_done(session: Session, run_id: uuid.UUID | str, slice_key: str) -> None:
    """Record one finished slice (idempotently: a redelivered slice counts once)."""
    session.execute(
        text(
            """
            UPDATE task_runs r SET
                params = r.params || jsonb_build_object('done', d.done, 'progress_at', now()),
                status = CASE WHEN r.status = 'failed' THEN 'failed'
                              WHEN jsonb_array_length(d.done) >= (r.params->>'slices')::int
                              THEN 'succeeded' ELSE 'running' END,
                finished_at = CASE WHEN jsonb_array_length(d.done) >= (r.params->>'slices')::int
                                   THEN now() END
            FROM (
                SELECT id, (SELECT jsonb_agg(DISTINCT x) FROM jsonb_array_elements(
                    coalesce(params->'done', '[]'::jsonb) || to_jsonb(CAST(:k AS text))) x) AS done
                FROM task_runs WHERE id = :id FOR UPDATE
            ) d
            WHERE r.id = d.id
            """
        ),
        {"id": str(run_id), "k": slice_key},
    )


def _json(value: dict[str, Any]) -> str:
    import orjson

    return orjson.dumps(value).decode()
