"""The dashboard's poll, answered before FastAPI's routing and dependency machinery.

Every open dashboard asks for GET /api/v1/metrics and /api/v1/metrics/breakdown of its region
every few seconds. Their answer is cached bytes behind one statement (services/metrics/read.py),
so what a read cost was the framework around it: middleware, route matching, dependency
solving and parameter validation were four fifths of its CPU (BENCHMARKS.md, figure 4).

This middleware answers only the plain poll: a token this process already knows, of a staff
user, and the query `period` with optionally `region` (12 digits) and `view=live`, each once.
Anything else, and every error, falls through to the FastAPI route, which is the one place that
validates, refuses and documents these endpoints; it reaches the same cached reads.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

from psycopg import OperationalError
from psycopg_pool import PoolTimeout

from api import observability
from api.errors import unavailable
from services import auth
from services.actors import STAFF
from services.errors import DomainError
from services.metrics import read

_REGION = re.compile(r"^[0-9]{12}$")
_RENDER = {
    "/api/v1/metrics": read.dashboard_figures,
    "/api/v1/metrics/breakdown": read.dashboard_breakdown,
}
_HEADERS = [(b"content-type", b"application/json")]


def _query(raw: bytes) -> dict[str, str] | None:
    """period, region and view, each at most once and nothing else; None otherwise."""
    pairs = parse_qsl(raw.decode("latin-1"), keep_blank_values=True)
    params = dict(pairs)
    if len(params) != len(pairs) or not params.keys() <= {"period", "region", "view"}:
        return None
    if "period" not in params or params.get("view", "live") != "live":
        return None
    if "region" in params and not _REGION.match(params["region"]):
        return None
    return params


def known_caller(scope: Any, roles: tuple[str, ...]) -> auth.Caller | None:
    """The caller of a bearer token this process knows, if its role is one of `roles`."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() != "bearer" or not token:
                return None
            try:
                caller = auth.cached_caller(token)
            except DomainError:  # expired: the route says so
                return None
            if caller is None or caller.actor.role not in roles:
                return None
            return caller
    return None


class HotReadsMiddleware:
    def __init__(self, app: Any, routes: dict[str, Any]) -> None:
        # routes: path -> the FastAPI route it stands in for (its template labels the latency)
        self.app, self.routes = app, routes

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        render = _RENDER.get(scope["path"]) if scope["type"] == "http" else None
        if render is None or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        try:
            body = await self._answer(scope, render)
        except (PoolTimeout, OperationalError):  # the database is busy or away: retry
            await unavailable()(scope, receive, send)
            return
        if body is None:
            await self.app(scope, receive, send)
            return
        observability.answered_by(scope, self.routes[scope["path"]])
        headers = [*_HEADERS, (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _answer(self, scope: Any, render: Any) -> bytes | None:
        params = _query(scope["query_string"])
        caller = known_caller(scope, STAFF) if params is not None else None
        if params is None or caller is None:
            return None
        hot = read.dashboard_scope(
            caller.actor,
            token_version=caller.token_version,
            region=params.get("region"),
            period=params["period"],
            view="live",
        )
        if hot is None:
            return None
        try:
            return await render(hot)
        except DomainError:  # revoked caller, unknown region: the route answers it
            return None
