from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Query, Response, UploadFile

from api.deps import AnyUser, Cursor, Db, Limit
from api.routers.hazard_views import hazard_detail, hazard_read
from api.schemas.common import Instant, Page
from api.schemas.hazards import (
    GovernancePlanUpdate,
    HazardDetail,
    HazardEventCreate,
    HazardRead,
    PhotoRead,
)
from services import hazards, photos
from services.errors import Invalid
from services.models import Hazard
from services.pagination import paginate
from services.regions import get_region
from services.settings import get_settings

router = APIRouter(prefix="/api/v1/hazards", tags=["hazards"])
ERRORS = {
    403: {"description": "role may not do this"},
    404: {"description": "not found"},
    409: {"description": "move not allowed, or id reused with other content"},
}
Status = Literal["reported", "rectifying", "rectified", "closed", "voided"]


@router.get("", response_model=Page[HazardRead])
def list_hazards(
    db: Db,
    actor: AnyUser,
    region: Annotated[str | None, Query(pattern=r"^[0-9]{12}$")] = None,
    status: Status | None = None,
    level: Literal["general", "major"] | None = None,
    overdue: bool | None = None,
    unit_id: uuid.UUID | None = None,
    category: str | None = None,
    found_from: Instant | None = None,
    found_to: Instant | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
):
    if region:
        get_region(db, region, scope=actor.scope)  # 404 outside the caller's subtree
    stmt = hazards.list_hazards_stmt(
        actor,
        region=region,
        status=status,
        level=level,
        overdue=overdue,
        unit_id=unit_id,
        category=category,
        found_from=found_from,
        found_to=found_to,
    )
    page = paginate(db, stmt, [Hazard.found_at, Hazard.id], limit=limit, cursor=cursor)
    return {"items": [hazard_read(h) for h in page.items], "next_cursor": page.next_cursor}


@router.get("/{hazard_id}", response_model=HazardDetail, responses=ERRORS)
def get_hazard(db: Db, actor: AnyUser, hazard_id: uuid.UUID):
    """A hazard with its events in the order they were applied, and its current deadline."""
    return hazard_detail(db, hazards.get_hazard(db, actor, hazard_id))


@router.patch("/{hazard_id}", response_model=HazardDetail, responses=ERRORS)
def update_hazard(db: Db, actor: AnyUser, hazard_id: uuid.UUID, body: GovernancePlanUpdate):
    """Add or replace a major hazard's governance plan."""
    plan = body.governance_plan.model_dump(mode="json")
    hazard = hazards.set_governance_plan(db, actor, hazard_id=hazard_id, plan=plan)
    return hazard_detail(db, hazard)


@router.post(
    "/{hazard_id}/events",
    response_model=HazardDetail,
    status_code=201,
    responses={200: {"model": HazardDetail}, 422: {"description": "bad field or time"}, **ERRORS},
)
def post_event(
    db: Db, actor: AnyUser, hazard_id: uuid.UUID, body: HazardEventCreate, response: Response
):
    """Apply a lifecycle step (domain.md's table). Returns the hazard as it now stands."""
    _, created = hazards.apply_event(db, actor, hazard_id=hazard_id, data=body.model_dump())
    response.status_code = 201 if created else 200
    db.flush()
    return hazard_detail(db, hazards.get_hazard(db, actor, hazard_id))


@router.post(
    "/{hazard_id}/photos",
    response_model=PhotoRead,
    status_code=201,
    responses={200: {"model": PhotoRead}, 413: {"description": "too large"}, **ERRORS},
)
def upload_photo(
    db: Db,
    actor: AnyUser,
    hazard_id: uuid.UUID,
    response: Response,
    id: Annotated[uuid.UUID, Form(description="client-chosen photo id")],
    file: Annotated[UploadFile, File(description="JPEG, PNG or WebP")],
):
    limit = get_settings().photo_max_bytes
    data = file.file.read(limit + 1)
    if len(data) > limit:
        raise Invalid(["body", "file"], f"is larger than {limit} bytes")
    photo, created = photos.store_photo(db, actor, hazard_id=hazard_id, photo_id=id, data=data)
    response.status_code = 201 if created else 200
    return photo


@router.get("/{hazard_id}/photos/{photo_id}", response_class=Response, responses=ERRORS)
def download_photo(db: Db, actor: AnyUser, hazard_id: uuid.UUID, photo_id: uuid.UUID):
    photo = photos.get_photo(db, actor, hazard_id=hazard_id, photo_id=photo_id)
    return Response(photos.read_photo(photo), media_type=photo.content_type)
