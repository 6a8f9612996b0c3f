"""The one place that maps domain errors to HTTP status codes and JSON bodies."""

from __future__ import annotations

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from psycopg_pool import PoolTimeout
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError

from services.errors import (
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    RateLimited,
    Unauthorized,
)

# lock_not_available, deadlock_detected, serialization_failure, query_canceled
RETRYABLE_SQLSTATES = {"55P03", "40P01", "40001", "57014"}


class Overloaded(Exception):
    """No turn at the database within the admission wait (`api.deps`): 503, retry."""


def _validation_body(errors: list[dict]) -> dict:
    detail = []
    for e in errors:
        item = {"loc": list(e.get("loc", [])), "msg": e.get("msg", ""), "type": e.get("type", "")}
        detail.append(item)
    return {"detail": detail}


def unavailable() -> JSONResponse:
    return JSONResponse(
        {"detail": "database unavailable, retry"}, status_code=503, headers={"Retry-After": "1"}
    )


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(_validation_body(list(exc.errors())), status_code=422)

    @app.exception_handler(Invalid)
    async def _invalid(_: Request, exc: Invalid) -> JSONResponse:
        loc = exc.loc if exc.loc and exc.loc[0] in ("body", "query", "path") else ["body", *exc.loc]
        body = {"detail": [{"loc": loc, "msg": exc.reason, "type": "value_error"}]}
        return JSONResponse(body, status_code=422)

    @app.exception_handler(NotFound)
    async def _not_found(_: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @app.exception_handler(Conflict)
    async def _conflict(_: Request, exc: Conflict) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=409)

    @app.exception_handler(Forbidden)
    async def _forbidden(_: Request, exc: Forbidden) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=403)

    @app.exception_handler(Unauthorized)
    async def _unauthorized(_: Request, exc: Unauthorized) -> JSONResponse:
        return JSONResponse(
            {"detail": str(exc)}, status_code=401, headers={"WWW-Authenticate": "Bearer"}
        )

    @app.exception_handler(Overloaded)
    async def _overloaded(_: Request, exc: Overloaded) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=503, headers={"Retry-After": "1"})

    @app.exception_handler(RateLimited)
    async def _limited(_: Request, exc: RateLimited) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=429, headers={"Retry-After": "900"})

    @app.exception_handler(IntegrityError)
    async def _integrity(_: Request, exc: IntegrityError) -> JSONResponse:
        # Two clients racing on the same id or unique value: the loser gets a conflict.
        return JSONResponse({"detail": "conflicts with a stored record"}, status_code=409)

    @app.exception_handler(PoolTimeout)
    async def _no_reader(_: Request, exc: PoolTimeout) -> JSONResponse:
        # The hot reader (services/db.py) got no connection in time: busy, or the database down.
        return unavailable()

    @app.exception_handler(psycopg.OperationalError)
    async def _reader_lost(_: Request, exc: psycopg.OperationalError) -> JSONResponse:
        # The hot reader's second try failed too: the database went away.
        return unavailable()

    @app.exception_handler(DBAPIError)
    async def _database(_: Request, exc: DBAPIError) -> JSONResponse:
        # The database went away (restart, failover), or a lock wait or serialisation failure
        # gave up: a retryable 503, never a 500. Clients retry writes with the same ids.
        retryable = getattr(exc.orig, "sqlstate", None) in RETRYABLE_SQLSTATES
        if retryable or exc.connection_invalidated or "connection" in str(exc.orig).lower():
            return unavailable()
        if isinstance(exc, DataError):  # a value the database cannot take (e.g. a NUL)
            reason = str(exc.orig).splitlines()[0]
            return JSONResponse(_validation_body([{"loc": [], "msg": reason}]), status_code=422)
        raise exc
