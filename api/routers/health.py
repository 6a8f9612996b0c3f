"""Liveness and readiness; no token needed."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from services.db import get_engine

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
def readyz() -> JSONResponse:
    """Ready when the database answers: 503 only then, so that a load balancer sends requests
    elsewhere. The broker is reported, not required: writes keep their figure marks in
    PostgreSQL through a broker outage (README, operations), and an API taken out of service
    whenever Redis was down (every replica at once) lost the writes that would have survived."""
    checks: dict[str, str] = {}
    try:
        with get_engine().connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # readiness reports, it does not raise
        checks["database"] = f"unavailable: {type(exc).__name__}"
    try:
        from worker.app import broker_reachable

        # Briefly: the probe's own timeout is a second or two.
        checks["broker"] = "ok" if broker_reachable(timeout=0.5) else "unavailable"
    except Exception as exc:
        checks["broker"] = f"unavailable: {type(exc).__name__}"
    ok = checks["database"] == "ok"
    return JSONResponse(
        {"status": "ok" if ok else "unavailable", **checks}, status_code=200 if ok else 503
    )
