"""HAZARDTRACK_OTEL: FastAPI's own OpenTelemetry spans, off by default and on when asked."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from services.settings import get_settings
from tests.builders import COUNTY, TOWN_A, inspection_body, login_as, make_region_tree, make_unit

SPANS = InMemorySpanExporter()


@pytest.fixture(scope="module", autouse=True)
def _sdk():
    """The SDK a deployment would install, keeping the spans in memory. A process's tracer
    provider can be set once, so it is set when these tests run, not when they are collected."""
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(SPANS))
    trace.set_tracer_provider(provider)


@pytest.fixture
def app_with(monkeypatch):
    """An app built with HAZARDTRACK_OTEL as given; the cached settings are dropped after."""

    def build(otel: bool):
        from api.app import create_app

        monkeypatch.setenv("HAZARDTRACK_OTEL", "true" if otel else "false")
        get_settings.cache_clear()
        return create_app()

    yield build
    get_settings.cache_clear()


def _requests(client: TestClient) -> list[str]:
    """A few requests, plain and on the hot paths; the names of the request spans they made."""
    make_region_tree()
    unit = make_unit()
    county = login_as(client, "county", COUNTY)
    inspector = login_as(client, "inspector", TOWN_A)
    SPANS.clear()
    assert client.get("/healthz").status_code == 200
    assert client.get("/api/v1/regions", headers=county).status_code == 200
    r = client.get("/api/v1/metrics", params={"region": COUNTY, "period": "2026Q3"}, headers=county)
    assert r.status_code == 200
    r = client.post("/api/v1/inspections", json=inspection_body(unit), headers=inspector)
    assert r.status_code == 201
    return [s.name for s in SPANS.get_finished_spans() if not s.name.startswith("fastapi.")]


def test_no_spans_by_default(app_with):
    with TestClient(app_with(False)) as client:
        assert _requests(client) == []


def test_otel_on_gives_a_span_for_every_request(app_with):
    with TestClient(app_with(True)) as client:
        names = _requests(client)
    assert names == [
        "GET /healthz",
        "GET /api/v1/regions",
        "GET /api/v1/metrics",
        "POST /api/v1/inspections",
    ]
