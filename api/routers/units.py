"""Units: create (idempotent by client id), read, edit, list, and import from a spreadsheet."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, File, Query, Response, UploadFile

from api.deps import AnyUser, Cursor, Db, Limit, RegionManager
from api.schemas.common import Page
from api.schemas.units import ERRORS, ImportReport, UnitCreate, UnitRead, UnitUpdate
from services import unit_import, units
from services.errors import Invalid
from services.models import Unit
from services.pagination import paginate

router = APIRouter(prefix="/api/v1")


@router.post(
    "/units",
    response_model=UnitRead,
    status_code=201,
    tags=["units"],
    responses={200: {"model": UnitRead, "description": "a replayed creation"}, **ERRORS},
)
def create_unit(db: Db, actor: RegionManager, body: UnitCreate, response: Response) -> Unit:
    """Create a unit; the same id with the same body returns the stored unit (200)."""
    unit, created = units.create_unit(db, actor, **body.model_dump())
    response.status_code = 201 if created else 200
    return unit


@router.post(
    "/units/import",
    response_model=ImportReport,
    response_model_exclude_none=True,
    tags=["units"],
    responses={422: ERRORS[422]},
)
def import_units(
    db: Db,
    actor: RegionManager,
    file: Annotated[UploadFile, File(description="CSV (UTF-8 or GB18030) or XLSX")],
) -> dict:
    """Create or update units from a spreadsheet, reporting per row; bad rows do not stop others."""
    # A plain `def`, so FastAPI runs it in a thread: parsing a workbook and writing thousands
    # of rows take seconds, and on the event loop they stalled every other request of this
    # API process meanwhile (the file is already spooled, so the read blocks on nothing).
    limit = unit_import.MAX_BYTES
    content = file.file.read(limit + 1)
    if len(content) > limit:
        raise Invalid(["body", "file"], f"larger than {limit} bytes")
    rows = unit_import.read_rows(content, file.filename)
    return unit_import.import_rows(db, actor, rows)


@router.get("/units/{unit_id}", response_model=UnitRead, tags=["units"], responses=ERRORS)
def get_unit(db: Db, actor: AnyUser, unit_id: uuid.UUID) -> Unit:
    """A unit in the caller's region (a unit user: only its own)."""
    return units.get_unit(db, actor, unit_id)


@router.patch("/units/{unit_id}", response_model=UnitRead, tags=["units"], responses=ERRORS)
def update_unit(db: Db, actor: RegionManager, unit_id: uuid.UUID, body: UnitUpdate) -> Unit:
    """Edit a unit; a change of status needs `status_since`, the date it took effect."""
    changes = body.model_dump(exclude_unset=True)
    status_since = changes.pop("status_since", None)
    return units.update_unit(db, actor, unit_id=unit_id, changes=changes, status_since=status_since)


@router.get("/units", response_model=Page[UnitRead], tags=["units"], responses=ERRORS)
def list_units(
    db: Db,
    actor: AnyUser,
    region: Annotated[
        str | None, Query(pattern=r"^[0-9]{12}$", description="only units in this subtree")
    ] = None,
    kind: Annotated[str | None, Query(max_length=50)] = None,
    status: Literal["operating", "suspended", "closed"] | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
):
    """Units in the caller's region, ordered by region and id."""
    stmt = units.list_units_stmt(db, actor, region=region, kind=kind, status=status)
    return paginate(db, stmt, [Unit.region_code, Unit.id], limit=limit, cursor=cursor)
