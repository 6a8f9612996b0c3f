from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.deps import AnyUser, Cursor, Db, FieldWorker, Limit
from api.json_route import OrjsonRoute
from api.routers.hazard_views import hazard_read
from api.schemas.common import Instant, Page
from api.schemas.hazards import InspectionCreate, InspectionRead
from services import inspections
from services.models import Hazard, Inspection
from services.pagination import paginate
from services.regions import get_region

router = APIRouter(prefix="/api/v1/inspections", tags=["inspections"], route_class=OrjsonRoute)
ERRORS = {404: {"description": "not found"}, 409: {"description": "id reused with other content"}}


def inspection_read(
    db, inspection: Inspection, hazards: list[Hazard] | None = None
) -> InspectionRead:
    """The read schema; `hazards` when the caller has them already, else they are read."""
    if hazards is None:
        hazards = inspections.hazards_of(db, inspection.id)
    fields = {c: getattr(inspection, c) for c in InspectionRead.model_fields if c != "hazards"}
    return InspectionRead(**fields, hazards=[hazard_read(h) for h in hazards])


@router.post(
    "",
    response_model=InspectionRead,
    status_code=201,
    responses={200: {"model": InspectionRead}, **ERRORS},
)
def create_inspection(db: Db, actor: FieldWorker, body: InspectionCreate, response: Response):
    """Record an inspection and the hazards found in it. Retrying with the same id is safe."""
    recorded = inspections.record_inspection(db, actor, data=body.model_dump())
    response.status_code = 201 if recorded.created else 200
    return inspection_read(db, recorded.inspection, recorded.hazards)


@router.get("/{inspection_id}", response_model=InspectionRead, responses=ERRORS)
def get_inspection(db: Db, actor: AnyUser, inspection_id: uuid.UUID):
    return inspection_read(db, inspections.get_inspection(db, actor, inspection_id))


@router.get("", response_model=Page[InspectionRead])
def list_inspections(
    db: Db,
    actor: AnyUser,
    region: Annotated[str | None, Query(pattern=r"^[0-9]{12}$")] = None,
    unit_id: uuid.UUID | None = None,
    kind: str | None = None,
    campaign_id: uuid.UUID | None = None,
    inspected_from: Instant | None = None,
    inspected_to: Instant | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
):
    if region:
        get_region(db, region, scope=actor.scope)  # 404 outside the caller's subtree
    stmt = inspections.list_inspections_stmt(
        actor,
        region=region,
        unit_id=unit_id,
        kind=kind,
        campaign_id=campaign_id,
        inspected_from=inspected_from,
        inspected_to=inspected_to,
    )
    page = paginate(db, stmt, [Inspection.inspected_at, Inspection.id], limit=limit, cursor=cursor)
    return {"items": [inspection_read(db, i) for i in page.items], "next_cursor": page.next_cursor}
