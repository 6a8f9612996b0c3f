"""The county dashboard: a static page (no build step) that reads the figures API in the browser."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, RedirectResponse

from services.errors import NotFound

router = APIRouter(tags=["dashboard"], include_in_schema=False)

ROOT = Path(__file__).resolve().parent.parent / "dashboard"
FILES = {
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
}
HEADERS = {
    # Everything the page needs comes from this origin: no CDN, no inline script.
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}


@router.get("/dashboard")
def dashboard_root() -> RedirectResponse:
    return RedirectResponse("/dashboard/", status_code=307)


@router.get("/dashboard/")
def dashboard_index() -> FileResponse:
    return _file("index.html")


@router.get("/dashboard/{name}")
def dashboard_file(name: str) -> FileResponse:
    return _file(name)


def _file(name: str) -> FileResponse:
    if name not in FILES:
        raise NotFound("file", name)
    return FileResponse(ROOT / name, media_type=FILES[name], headers=HEADERS)
