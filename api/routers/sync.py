"""Batched upload for phones that were offline."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from api.deps import Db, FieldWorker
from api.json_route import OrjsonRoute
from api.schemas.common import WriteModel
from api.schemas.hazards import InspectionCreate, SyncEvent
from services import sync
from services.sync import MAX_ITEMS

router = APIRouter(prefix="/api/v1", tags=["sync"], route_class=OrjsonRoute)


class SyncRequest(WriteModel):
    # Items are validated one by one below, so one malformed item is refused on its own.
    inspections: list[Any] = Field(default_factory=list, max_length=MAX_ITEMS)
    events: list[Any] = Field(default_factory=list, max_length=MAX_ITEMS)


class SyncItemResult(BaseModel):
    kind: Literal["inspection", "event"]
    index: int
    id: str | None
    result: Literal["stored", "already_stored", "conflict", "refused"]
    detail: Any = None


class SyncResponse(BaseModel):
    results: list[SyncItemResult]
    stored: int
    already_stored: int
    conflicts: int
    refused: int


def _validate(adapter: TypeAdapter, items: list[Any], field: str) -> list[tuple]:
    out = []
    for i, raw in enumerate(items):
        try:
            out.append((adapter.validate_python(raw).model_dump(), None))
        except ValidationError as exc:
            errors = [{"loc": ["body", field, i, *e["loc"]], "msg": e["msg"]} for e in exc.errors()]
            out.append(
                (None, {"id": raw.get("id") if isinstance(raw, dict) else None, "errors": errors})
            )
    return out


_INSPECTION = TypeAdapter(InspectionCreate)
_EVENT = TypeAdapter(SyncEvent)


@router.post("/sync", response_model=SyncResponse)
def sync_upload(db: Db, actor: FieldWorker, body: SyncRequest) -> dict:
    """Apply queued inspections, then queued events, in order; a result per item."""
    results = sync.apply_batch(
        db,
        actor,
        inspections=_validate(_INSPECTION, body.inspections, "inspections"),
        events=_validate(_EVENT, body.events, "events"),
    )
    counts = {
        k: sum(1 for r in results if r["result"] == k)
        for k in ("stored", "already_stored", "conflict", "refused")
    }
    return {
        "results": results,
        "stored": counts["stored"],
        "already_stored": counts["already_stored"],
        "conflicts": counts["conflict"],
        "refused": counts["refused"],
    }
