from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from api.deps import AdminUser, AnyUser, Cursor, Db, Limit
from api.schemas.common import Page
from api.schemas.regions import RegionPut, RegionRead
from services import regions
from services.models import Region
from services.pagination import paginate

router = APIRouter(prefix="/api/v1/regions", tags=["regions"])
Code = Annotated[str, Path(pattern=r"^[0-9]{12}$", description="12-digit division code")]


@router.put("/{code}", response_model=RegionRead, responses={201: {"model": RegionRead}})
def put_region(db: Db, actor: AdminUser, code: Code, body: RegionPut, response: Response) -> Region:
    region, created = regions.put_region(db, code=code, name=body.name)
    response.status_code = 201 if created else 200
    return region


@router.get("/{code}", response_model=RegionRead)
def get_region(db: Db, actor: AnyUser, code: Code) -> Region:
    return regions.get_region(db, code, scope=actor.scope)


@router.get("", response_model=Page[RegionRead])
def list_regions(
    db: Db,
    actor: AnyUser,
    parent: Annotated[str | None, Query(pattern=r"^[0-9]{12}$")] = None,
    # Pages like every list; 500 by default, so a township's villages come in one.
    limit: Limit = 500,
    cursor: Cursor = None,
) -> Any:
    """Children of `parent`; without it, the top regions (an admin) or the caller's subtree."""
    if parent is not None:
        regions.get_region(db, parent, scope=actor.scope)  # 404 outside the caller's subtree
    stmt = regions.children_stmt(parent, actor.scope)
    return paginate(db, stmt, [Region.code], limit=limit, cursor=cursor)
