"""Application factory: routers, error handlers and middleware."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qsl

import anyio
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from api import errors, observability
from api.hot_reads import HotReadsMiddleware
from api.hot_writes import PATH, HotWritesMiddleware
from api.routers import HOT, ROUTERS, inspections, metrics
from services import db
from services.settings import get_settings
from worker import dispatch


class ErrorBody(BaseModel):
    detail: Any


class FieldError(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ValidationErrorBody(BaseModel):
    detail: list[FieldError]


# The errors any operation may answer with, documented once for all of them (routes may add
# their own descriptions): the contract promises `{"detail": …}` on every 4xx.
COMMON_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "a body that is not valid JSON or form data"},
    401: {"model": ErrorBody, "description": "no valid access token"},
    403: {"model": ErrorBody, "description": "the caller's role may not do this"},
    404: {"model": ErrorBody, "description": "not found, or outside the caller's region"},
    409: {"model": ErrorBody, "description": "conflicts with a stored record"},
    413: {"model": ValidationErrorBody, "description": "request body too large"},
    422: {"model": ValidationErrorBody, "description": "invalid input; `loc` names the field"},
    429: {"model": ErrorBody, "description": "too many failed logins"},
    503: {"model": ErrorBody, "description": "database unavailable, retry"},
}


class BodyLimitMiddleware:
    """Refuse oversized bodies: before reading them when their length is stated, and as soon as
    the limit is passed when it is not (chunked); photos have their own, smaller limit.

    A chunked body used to pass unchecked: FastAPI reads a body before it checks the token, so
    anyone could make the API hold any amount in memory or on disk.

    Pure ASGI: Starlette's BaseHTTPMiddleware costs a task group and a streamed response per
    request, a sixth of a cheap request's time (BENCHMARKS.md, figure 4).
    """

    def __init__(self, app: Any, max_body: int) -> None:
        self.app, self.max_body = app, max_body

    def _too_large(self) -> JSONResponse:
        body = {
            "loc": ["body"],
            "msg": f"body larger than {self.max_body} bytes",
            "type": "too_large",
        }
        return JSONResponse({"detail": [body]}, status_code=413)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        chunked = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                if not value.isdigit() or int(value) > self.max_body:
                    await self._too_large()(scope, receive, send)
                    return
                await self.app(scope, receive, send)  # the server holds it to its length
                return
            if name == b"transfer-encoding":
                chunked = True
        if chunked:
            await self._counted(scope, receive, send)
        else:  # neither header: no body (a GET), nothing to count
            await self.app(scope, receive, send)

    async def _counted(self, scope: Any, receive: Any, send: Any) -> None:
        """A body of no stated length: counted as it arrives. Past the limit the client gets
        413 and the application a disconnect, and whatever it answers then is dropped."""
        received, refused, answering = 0, False, False

        async def counting_receive() -> Any:
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request" and not refused:
                received += len(message.get("body", b""))
                if received > self.max_body:
                    refused = True
                    if not answering:  # else the application's answer is on its way already
                        await self._too_large()(scope, receive, send)
            if refused:
                return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Any) -> None:
            nonlocal answering
            if refused and not answering:
                return
            answering = True
            await send(message)

        await self.app(scope, counting_receive, guarded_send)


class QueryTextMiddleware:
    """A NUL character in a query parameter is 422 naming the parameter.

    PostgreSQL's text cannot hold one, so it failed in the database and the generic handler
    answered 422 with no field named (`GET /hazards?category=%00`). Request bodies are checked
    by their schemas (api/schemas/common.WriteModel). A bytes search keeps the cost off the
    requests that have none.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and b"%00" in scope["query_string"]:
            pairs = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
            names = [name for name, value in pairs if "\x00" in value or "\x00" in name]
            if names:
                detail = [
                    {
                        "loc": ["query", name],
                        "msg": "contains a NUL character",
                        "type": "value_error",
                    }
                    for name in dict.fromkeys(names)
                ]
                await JSONResponse({"detail": detail}, status_code=422)(scope, receive, send)
                return
        await self.app(scope, receive, send)


GC_YOUNG_THRESHOLD = 20_000  # allocations between young-generation collections (default 700)


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    """The hot pools belong to the event loop that serves requests: opened here, closed at
    shutdown."""
    url = await anyio.to_thread.run_sync(db.database_url)  # may start the embedded server
    await db.open_hot_pools(url, wait_seconds=get_settings().admission_wait_seconds)
    await anyio.to_thread.run_sync(dispatch.warm_up)  # before serving, and before the freeze
    # What start-up built (modules, models, routes, pools: most of the heap) stays for the
    # process's life; frozen, the collector no longer walks it. Each full collection walked
    # it all, and a request that allocates much (a /sync batch's JSON) set several off: 40 %
    # of such a request's CPU (BENCHMARKS.md, figure 3). Garbage is collected as before.
    gc.collect()
    gc.freeze()
    # A young-generation collection every 700 allocations (the default) ran many times in a
    # /sync batch, each walking the batch's live items; every 20,000 costs a batch 5-8 %
    # less CPU (BENCHMARKS.md, figure 3). Reference counting still frees what has no cycle.
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])
    try:
        yield
    finally:
        await db.close_hot_pools()


# FastAPI's native OpenTelemetry, all of it (HAZARDTRACK_OTEL=true keeps FastAPI's defaults).
NO_TELEMETRY = {"tracing": False, "metrics": False, "logs": False, "operation_spans": False}


def create_app() -> FastAPI:
    db.set_lock_timeout("5s")
    db.set_parallel_query(False)
    app = FastAPI(
        lifespan=lifespan,
        telemetry=None if get_settings().otel else NO_TELEMETRY,
        title="Hazardtrack",
        version="1.0",
        description=(
            "Work-safety hazard inspection and rectification (隐患排查治理): records from the "
            "field, the closed-loop hazard lifecycle, and the county's figures."
        ),
    )
    errors.install(app)

    app.add_middleware(HotReadsMiddleware, routes=_routes_by_path(metrics.router))
    app.add_middleware(HotWritesMiddleware, route=_route(inspections.router, "POST", PATH))
    app.add_middleware(QueryTextMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_body=get_settings().body_max_bytes)

    for router in ROUTERS:
        app.include_router(router, responses=COMMON_ERRORS)
    observability.install(app)  # /metrics, request ids, JSON logs
    _hot_routers_first(app)
    return app


def _routes_by_path(router: Any) -> dict[str, Any]:
    return {route.path: route for route in router.routes}


def _route(router: Any, method: str, path: str) -> Any:
    (route,) = [r for r in router.routes if r.path == path and method in r.methods]
    return route


def _hot_routers_first(app: FastAPI) -> None:
    """Match requests against the HOT routers first; the OpenAPI document, rendered (and kept)
    before the reordering, lists the routers in their own order."""
    app.openapi()
    routes = app.router.routes
    hot = [r for r in routes if getattr(r, "original_router", None) in HOT]
    hot.sort(key=lambda r: HOT.index(r.original_router))
    routes[:] = hot + [r for r in routes if r not in hot]
