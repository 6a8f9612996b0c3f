"""Request dependencies: the unit of work, the caller, and role aliases shown in signatures."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session

from services import auth, outbox
from services.actors import STAFF, Actor
from services.db import new_session
from services.errors import Forbidden
from services.pagination import MAX_LIMIT
from worker import dispatch

oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token")


def get_db() -> Iterator[Session]:
    """One session per request, committed before the response is sent."""
    session = new_session()
    try:
        yield session
        touched = outbox.touched(session)
        session.commit()
        if touched:
            dispatch.figures_changed()  # after the commit: the worker must see the write
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


Db = Annotated[Session, Depends(get_db)]


def current_actor(db: Db, token: Annotated[str, Depends(oauth2)]) -> Actor:
    return auth.actor_of(auth.user_from_access_token(db, token))


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
    def dependency(actor: CurrentActor) -> Actor:
        if actor.role not in roles:
            raise Forbidden(f"role {actor.role} may not do this")
        return actor

    return Depends(dependency)


AdminUser = Annotated[Actor, require("admin")]
CountyReader = Annotated[Actor, require("admin", "county")]
RegionManager = Annotated[Actor, require("admin", "county", "township")]
Staff = Annotated[Actor, require("admin", "county", "township", "inspector")]
FieldWorker = Annotated[Actor, require("admin", "township", "inspector")]
AnyUser = CurrentActor

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="page size, at most 500")]
Cursor = Annotated[str | None, Query(description="next_cursor of the previous page")]
