"""The audit trail, readable by admins and the county; never editable through the API."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy import or_, select

from api.deps import CountyReader, Cursor, Db, Limit
from api.schemas.common import Instant, LocalDatetime, Page, ReadModel
from services import audit
from services.models import AuditEntry, Hazard, Unit, User
from services.pagination import paginate
from services.regions import in_subtree

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


class AuditRead(ReadModel):
    id: int
    at: LocalDatetime
    actor_id: uuid.UUID | None
    actor_username: str | None
    entity: str
    entity_id: str
    action: str
    changes: dict[str, Any]


def _in_county(actor) -> Any:
    """A county reads the entries about records in its subtree (and its own users' actions)."""
    scope = actor.scope
    ids_in = lambda model: select(model.id.cast(AuditEntry.entity_id.type)).where(  # noqa: E731
        in_subtree(model.region_code, scope)
    )
    return or_(
        AuditEntry.entity_id.in_(ids_in(Hazard)),
        AuditEntry.entity_id.in_(ids_in(Unit)),
        AuditEntry.entity_id.in_(ids_in(User)),
        AuditEntry.actor_id.in_(select(User.id).where(in_subtree(User.region_code, scope))),
    )


@router.get("", response_model=Page[AuditRead])
def list_audit(
    db: Db,
    actor: CountyReader,
    entity: Annotated[str | None, Query(max_length=30)] = None,
    entity_id: Annotated[str | None, Query(max_length=64)] = None,
    actor_name: Annotated[str | None, Query(alias="actor", max_length=100)] = None,
    since: Annotated[Instant | None, Query(alias="from")] = None,
    until: Annotated[Instant | None, Query(alias="to")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
):
    stmt = audit.search_stmt(
        entity=entity, entity_id=entity_id, actor=actor_name, since=since, until=until
    )
    if actor.role != "admin":
        stmt = stmt.where(_in_county(actor))
    return paginate(db, stmt, [AuditEntry.id], limit=limit, cursor=cursor)
