"""The quarterly work summary (安全生产工作总结) as a document, for a region and a period."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Query, Response

from api.deps import Db, Staff
from services import summary

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])

MEDIA = {"md": "text/markdown; charset=utf-8", "docx": summary.DOCX}


@router.get(
    "/summary",
    response_class=Response,
    responses={
        200: {
            "content": {"text/markdown": {}, summary.DOCX: {}},
            "description": "the summary in Chinese, with a table per township",
        },
        404: {"description": "region outside the caller's subtree, or frozen figures missing"},
        422: {"description": "bad region, period, view or format"},
    },
)
def get_summary(
    db: Db,
    actor: Staff,
    period: Annotated[
        str, Query(description="a quarter (2026Q3), half-year (2026H1) or year (2026)")
    ],
    region: Annotated[
        str | None,
        Query(
            description="12-digit region code; default: the caller's region", pattern=r"^[0-9]{12}$"
        ),
    ] = None,
    view: Annotated[Literal["live", "frozen"], Query(description="frozen: quarters only")] = "live",
    format: Literal["md", "docx"] = "md",
) -> Response:
    """The figures written the way township offices write them: 共检查…，排查出隐患…条，其中…"""
    built = summary.build(db, actor=actor, region=region, period=period, view=view)
    name = summary.filename(built, format)
    return Response(
        summary.render(built, format),
        media_type=MEDIA[format],
        headers={
            "Content-Disposition": f"attachment; filename=\"{name}\"; filename*=UTF-8''{quote(name)}"
        },
    )
