"""Application factory: routers, error handlers and middleware."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from api import errors, observability
from api.routers import ROUTERS
from services.settings import get_settings


def create_app() -> FastAPI:
    app = FastAPI(
        title="Hazardtrack",
        version="1.0",
        description=(
            "Work-safety hazard inspection and rectification (隐患排查治理): records from the "
            "field, the closed-loop hazard lifecycle, and the county's figures."
        ),
    )
    errors.install(app)

    max_body = get_settings().body_max_bytes

    @app.middleware("http")
    async def limit_body(request: Request, call_next):
        # Refuse oversized bodies before reading them; photos have their own, smaller limit.
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > max_body):
            return JSONResponse(
                {
                    "detail": [
                        {
                            "loc": ["body"],
                            "msg": f"body larger than {max_body} bytes",
                            "type": "too_large",
                        }
                    ]
                },
                status_code=413,
            )
        return await call_next(request)

    for router in ROUTERS:
        app.include_router(router)
    observability.install(app)  # /metrics, request ids, JSON logs
    return app
