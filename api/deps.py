"""Request dependencies: the unit of work, the caller, and role aliases shown in signatures."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import anyio
from fastapi import Depends, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session

from api.errors import Overloaded
from services import auth, outbox
from services.actors import FIELD, STAFF, Actor
from services.db import WRITE_POOL_MAX, new_session
from services.errors import Forbidden
from services.pagination import MAX_LIMIT
from services.settings import get_settings
from worker import dispatch

oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token")


def _finish(session: Session) -> None:
    """Commit the request's unit of work, then wake the worker if figures changed."""
    try:
        touched = outbox.touched(session)
        session.commit()
        if touched:
            dispatch.figures_changed()  # after the commit: the worker must see the write
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def _abandon(session: Session) -> None:
    try:
        session.rollback()
    finally:
        session.close()


_admitted: anyio.Semaphore | None = None


def _admission() -> anyio.Semaphore:
    """At most as many requests hold a unit of work as the write pool has connections.

    Without it an overload deadlocked: requests that held connections waited for a thread to
    go on (to run the endpoint, or to commit) while every thread was taken by requests
    waiting for a connection, and the API answered nothing until the pool timed out
    (BENCHMARKS.md, figure 3). Waiting here costs no thread, and the threads (40) outnumber
    the admitted requests, so one that holds a connection always gets a thread.
    """
    global _admitted
    if _admitted is None:
        _admitted = anyio.Semaphore(WRITE_POOL_MAX)
    return _admitted


async def _admit(admission: anyio.Semaphore) -> None:
    """Wait for a turn, but not for ever: past `admission_wait_seconds` the API is overloaded,
    and the caller is better served by a quick 503 it can retry (every write a phone retries
    is idempotent) than by an answer after its own timeout. Nothing has been read or written."""
    with anyio.move_on_after(get_settings().admission_wait_seconds) as wait:
        await admission.acquire()
    if wait.cancelled_caught:
        raise Overloaded("the service is busy, retry")


async def get_db() -> AsyncIterator[Session]:
    """One session per request, committed before the response is sent.

    Opening a session does no I/O (the connection is taken at the first statement), so it
    happens on the event loop; the end runs in one thread-pool call. A sync generator would
    cost a thread hand-off at each end.
    """
    admission = _admission()
    await _admit(admission)
    try:
        session = new_session()
        try:
            yield session
        except BaseException:
            with anyio.CancelScope(shield=True):
                await run_in_threadpool(_abandon, session)
            raise
        await run_in_threadpool(_finish, session)
    finally:
        admission.release()


# scope="function": the commit runs when the endpoint returns, before the response is sent.
# With the default ("request") FastAPI runs a yield dependency's end after sending the
# response, so a commit that failed (PostgreSQL restarting) had already been answered 201:
# the phone dropped a finding that was never stored (tests/hazards/test_commit.py).
Db = Annotated[Session, Depends(get_db, scope="function")]


def current_actor(db: Db, token: Annotated[str, Depends(oauth2)]) -> Actor:
    """The caller, checked inside the request's own transaction.

    A token seen before gives its actor without loading the user; one cheap statement then
    checks that the user is still active at the token's version, so a disabled user or a
    revoked session is refused on the very next request. A new token loads the user row.
    """
    caller = auth.cached_caller(token)
    if caller is None:
        return auth.load_caller(db, token).actor
    auth.check_caller(db, caller)
    return caller.actor


CurrentActor = Annotated[Actor, Depends(current_actor)]


def _load_caller(token: str) -> auth.Caller:
    session = new_session()
    try:
        caller = auth.load_caller(session, token)
        session.rollback()
        return caller
    finally:
        session.close()


async def read_staff(token: Annotated[str, Depends(oauth2)]) -> auth.Caller:
    """A staff caller of the dashboard's hot reads, known from its token without a query.

    The read's own statement checks that the user is still active at the token's version
    (services/metrics/read.py), so a disabled user or revoked session gets 401 as before.
    """
    caller = auth.cached_caller(token)
    if caller is None:
        caller = await run_in_threadpool(_load_caller, token)
    if caller.actor.role not in STAFF:
        raise Forbidden(f"role {caller.actor.role} may not do this")
    return caller


ReadStaff = Annotated[auth.Caller, Depends(read_staff)]


def require(*roles: str):
    async def dependency(actor: CurrentActor) -> Actor:  # no I/O: no thread hand-off
        if actor.role not in roles:
            raise Forbidden(f"role {actor.role} may not do this")
        return actor

    return Depends(dependency)


AdminUser = Annotated[Actor, require("admin")]
CountyReader = Annotated[Actor, require("admin", "county")]
RegionManager = Annotated[Actor, require("admin", "county", "township")]
Staff = Annotated[Actor, require("admin", "county", "township", "inspector")]
FieldWorker = Annotated[Actor, require(*FIELD)]
AnyUser = CurrentActor

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="page size, at most 500")]
Cursor = Annotated[str | None, Query(description="next_cursor of the previous page")]
