"""Operations view of the API: Prometheus metrics at /metrics and JSON logs with a request id.

Request latency is labelled by route template (`/api/v1/hazards/{hazard_id}`), never by the
raw path, so ids do not explode the series. The work-queue and overdue gauges are read from
PostgreSQL when Prometheus scrapes, so every API replica reports the same truth.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Iterator

import structlog
from fastapi import FastAPI
from fastapi.responses import Response
from opentelemetry import trace
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import text

from services import logs, references
from services.logs import configure_logging

REQUEST_ID_HEADER = "x-request-id"
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

REGISTRY = CollectorRegistry()
REQUEST_SECONDS = Histogram(
    "hazardtrack_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template and status code.",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=REGISTRY,
)
# The phones' POSTs written together (api/hot_writes.Batches): 1 when the API is quiet; it
# grows with the load, which is what keeps a burst from queueing (BENCHMARKS.md, figure 3).
POSTS_PER_WRITE = Histogram(
    "hazardtrack_inspection_posts_per_write",
    "New inspections POSTed on the hot path and written in one statement.",
    buckets=(1, 2, 4, 8, 16, 32, 50),
    registry=REGISTRY,
)

# Overdue as domain.md defines it: open, past its deadline, and not awaiting verification of a
# fix submitted on or before that deadline.
_GAUGES_SQL = text(
    """
    SELECT
      (SELECT count(*) FROM (SELECT DISTINCT region_code, month FROM metric_marks) b) AS marks,
      (SELECT coalesce(extract(epoch FROM now() - min(marked_at)), 0) FROM metric_marks) AS age,
      (SELECT count(*) FROM hazards
        -- the first two conditions find the candidates in the open-deadline index; the
        -- stored overdue_after is the figures' own rule (services/metrics/definitions.py)
        WHERE status IN ('reported', 'rectifying', 'rectified')
          AND deadline < now() AND overdue_after < now()) AS overdue
    """
)


class DatabaseGauges(Collector):
    """Gauges read from PostgreSQL at scrape time."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily(
            "hazardtrack_database_up", "1 when the scrape could read PostgreSQL, else 0."
        )
        try:
            from services.db import get_engine

            with get_engine().connect() as conn:
                conn.execute(text("SET LOCAL statement_timeout = '2s'"))
                row = conn.execute(_GAUGES_SQL).one()
                keys_per_batch = references.may_skip_row_checks(conn)
                conn.rollback()
        except Exception:  # a scrape reports, it does not fail
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield GaugeMetricFamily(
            "hazardtrack_metric_marks_waiting",
            "Figure buckets marked by writes and not yet recomputed by the worker.",
            value=row.marks,
        )
        yield GaugeMetricFamily(
            "hazardtrack_metric_marks_oldest_age_seconds",
            "Age of the oldest waiting figure bucket (0 when none wait).",
            value=float(row.age),
        )
        yield GaugeMetricFamily(
            "hazardtrack_overdue_hazards",
            "Open hazards past their deadline (逾期未改) across all regions.",
            value=row.overdue,
        )
        yield GaugeMetricFamily(
            "hazardtrack_sync_keys_checked_per_batch",
            "1 when the database role may check a batched upload's foreign keys once per batch "
            "(GRANT SET ON PARAMETER session_replication_role; README, Operations), 0 when "
            "they are checked row by row, at about twice PostgreSQL's time per batch.",
            value=int(keys_per_batch),
        )


REGISTRY.register(DatabaseGauges())

access_log = logging.getLogger("hazardtrack.http")


def answered_by(scope, route) -> None:
    """A hot path answered the request without FastAPI's routing: label it as the route it
    stands in for, in the latency histogram (`scope["route"]`) and, under HAZARDTRACK_OTEL, on
    the request's span, which FastAPI names after the route its routing selects (a hot read's
    span was a bare "GET", without `http.route`)."""
    scope["route"] = route
    span = trace.get_current_span()
    if span.is_recording():
        span.set_attribute("http.route", route.path)
        span.update_name(f"{scope['method']} {route.path}")


def _request_id(scope) -> str:
    for name, value in scope.get("headers") or []:
        if name == b"x-request-id":
            candidate = value.decode("latin-1").strip()
            if _SAFE_ID.match(candidate):
                return candidate
            break
    return uuid.uuid4().hex


class ObservabilityMiddleware:
    """Pure ASGI middleware: request id in and out, one JSON access line, latency histogram."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [
                    (k, v) for k, v in message.get("headers", []) if k.lower() != b"x-request-id"
                ]
                headers.append((b"x-request-id", request_id.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            REQUEST_SECONDS.labels(scope.get("method", ""), template, str(status)).observe(elapsed)
            if template != "/metrics":
                logs.line(
                    access_log,
                    "request",
                    method=scope.get("method"),
                    path=scope.get("path"),
                    route=template,
                    status=status,
                    duration_ms=round(elapsed * 1000, 1),
                    client=(scope.get("client") or ("", 0))[0],
                )
            structlog.contextvars.clear_contextvars()


def metrics_response() -> Response:
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


def install(app: FastAPI) -> None:
    """Add /metrics, the request-id middleware and JSON logging to an app."""
    configure_logging()
    app.add_api_route(
        "/metrics", metrics_response, methods=["GET"], include_in_schema=False, tags=["health"]
    )
    app.add_middleware(ObservabilityMiddleware)
