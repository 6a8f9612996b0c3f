"""Celery tasks that keep the figures: they take keys, not objects, and commit once each.

Every task acks late (worker/app.py), so one killed mid-way is redelivered; each is idempotent
(recomputing a cell twice gives the same cell, freezing twice changes nothing).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TypeVar

from celery.signals import worker_ready
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from services.db import unit_of_work
from services.metrics import compute, refresh, runs
from services.periods import Period, parse_period
from worker.app import celery_app

log = logging.getLogger(__name__)
T = TypeVar("T")

# Database hiccups (restart, failover, lock timeouts) are worth retrying; bad input is not.
RETRY = {
    "autoretry_for": (OperationalError, DBAPIError),
    "retry_backoff": True,
    "retry_backoff_max": 60,
    "max_retries": 5,
}
MAX_BATCHES = 200  # bound one task's work; what is left is picked up by the next send


def _drain_marks() -> int:
    """Recompute marked buckets batch by batch, one transaction per batch."""
    total = 0
    for _ in range(MAX_BATCHES):
        with unit_of_work() as session:
            n = refresh.recompute_marked(session)
        total += n
        if n == 0:
            break
    return total


@celery_app.task(name="worker.tasks.recompute_marked", soft_time_limit=120, time_limit=180, **RETRY)
def recompute_marked() -> int:
    """Recompute the live cells of every marked (leaf region, month) bucket."""
    n = _drain_marks()
    log.info("recomputed marked buckets: %d", n)
    return n


@celery_app.task(name="worker.tasks.catch_up", soft_time_limit=120, time_limit=180, **RETRY)
def catch_up() -> int:
    """Recompute any marks still waiting (e.g. written while the broker was down), send runs
    that were asked for but never started, and send again the slices of a full recompute lost
    with their worker."""
    n = _drain_marks()
    if n:
        log.info("catch-up recomputed %d buckets", n)
    # Runs asked for while the broker was down are still pending: send them again (both kinds
    # are idempotent, so a run that was merely slow to start does no harm when sent twice).
    with unit_of_work() as session:
        stale = runs.stale_pending(session)
        stalled = runs.stalled_recomputes(session)
        for run in stalled:
            runs.touch(session, run.id)
    for run in stalled:  # slices lost with their worker (SIGKILL, a pod stopped mid-slice)
        missing = runs.missing_slices(run)
        log.warning("run %s: sending %d lost slices again", run.id, len(missing))
        for township in missing:
            recompute_slice.apply_async(args=[str(run.id), township, run.params["period_keys"]])
    for run in stale:
        if run.kind == "recompute":
            recompute_all.apply_async(
                kwargs={
                    "run_id": str(run.id),
                    **{k: run.params.get(k) for k in ("region", "period")},
                }
            )
        elif run.kind == "freeze":
            freeze_quarter.apply_async(
                kwargs={"run_id": str(run.id), "period": run.params["period"]}
            )
    return n


@celery_app.task(
    name="worker.tasks.recompute_all", bind=True, soft_time_limit=60, time_limit=90, **RETRY
)
def recompute_all(
    self, run_id: str | None = None, region: str | None = None, period: str | None = None
) -> int:
    """Split a full recompute into one independent slice per township and send the slices."""
    periods, slices = _plan(region, period)
    with unit_of_work() as session:
        if run_id is None:
            run_id = str(
                runs.create_run(
                    session, kind="recompute", params={"region": region, "period": period}
                ).id
            )
        keys = [p.key for p in periods]
        # The slices and periods are kept with the run, so that a slice lost with its worker
        # can be sent again (catch_up).
        runs.start(
            session, run_id, slices=len(slices), done=[], slice_keys=slices, period_keys=keys
        )
        if not slices:
            runs.finish(session, run_id)
    for township in slices:
        recompute_slice.apply_async(args=[run_id, township, keys])
    return len(slices)


def _plan(region: str | None, period: str | None) -> tuple[list[Period], list[str]]:
    """The periods and the slices of a full recompute.

    Finding them probes every region's indexes, up to four times (~0.5 s for a province's
    32,000 regions), while the other worker processes wait for the first slice; so the
    lookups run side by side, each in its own read-only transaction on its own connection.
    """
    find_slices = partial(refresh.slices, region=region)
    if period is not None:
        return refresh.expand([parse_period(period)]), _read(find_slices)
    find_firsts = [partial(compute.first_record_month, source=s) for s in compute.FIRST_MONTH_SQL]
    with ThreadPoolExecutor(1 + len(find_firsts)) as pool:
        slices, *firsts = pool.map(_read, [find_slices, *find_firsts])
    return refresh.live_periods(firsts), slices


def _read(lookup: Callable[[Session], T]) -> T:
    with unit_of_work() as session:
        return lookup(session)


@celery_app.task(
    name="worker.tasks.recompute_slice", bind=True, soft_time_limit=600, time_limit=660, **RETRY
)
def recompute_slice(self, run_id: str, township: str, periods: list[str]) -> int:
    """Replace one township's live cells; the run succeeds when its last slice is done."""
    try:
        with unit_of_work() as session:
            replaced = refresh.recompute_township(
                session, township=township, periods=[parse_period(p) for p in periods]
            )
            runs.slice_done(session, run_id, township)
        return replaced.cells
    except Exception as exc:
        if self.request.retries >= self.max_retries or not isinstance(exc, DBAPIError):
            with unit_of_work() as session:
                runs.finish(session, run_id, error=f"slice {township}: {exc}"[:2000])
        raise


@celery_app.task(
    name="worker.tasks.freeze_quarter", bind=True, soft_time_limit=600, time_limit=660, **RETRY
)
def freeze_quarter(self, period: str, run_id: str | None = None) -> bool:
    """Freeze a quarter's figures as of its cut-off; freezing a frozen quarter changes nothing."""
    try:
        with unit_of_work() as session:
            if run_id:
                runs.start(session, run_id)
            won = refresh.freeze_quarter(session, period=period)
            if run_id:
                runs.start(session, run_id, frozen_now=won)
                runs.finish(session, run_id)
        return won
    except Exception as exc:
        if run_id and (self.request.retries >= self.max_retries or not isinstance(exc, DBAPIError)):
            with unit_of_work() as session:
                runs.finish(session, run_id, error=str(exc)[:2000])
        raise


@celery_app.task(name="worker.tasks.freeze_due", soft_time_limit=1800, time_limit=1900, **RETRY)
def freeze_due() -> list[str]:
    """Freeze every ended quarter whose reporting deadline has passed, one transaction each."""
    with unit_of_work() as session:
        due = refresh.quarters_due(session)
    done = []
    for quarter in due:
        with unit_of_work() as session:
            if refresh.freeze_quarter(session, period=quarter):
                done.append(quarter.key)
    return done


@celery_app.task(name="worker.tasks.overdue_sweep", soft_time_limit=120, time_limit=180, **RETRY)
def overdue_sweep() -> int:
    """Mark the buckets the clock moved (deadlines passed, a new month), then recompute them."""
    with unit_of_work() as session:
        n = refresh.overdue_sweep(session)
    _drain_marks()
    return n


@worker_ready.connect
def _catch_up_on_start(sender=None, **_: object) -> None:
    """Marks written while no worker ran (or the broker was down) are recomputed at start."""
    try:
        catch_up.apply_async()
    except Exception as exc:  # the worker still starts; beat's catch-up will follow
        log.warning("could not queue the start-up catch-up: %s", exc)
