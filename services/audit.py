"""The audit trail: who changed what and when, written in the same transaction as the change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.actors import Actor
from services.models import AuditEntry


def record(
    session: Session,
    actor: Actor,
    *,
    entity: str,
    entity_id: object,
    action: str,
    changes: dict[str, Any] | None = None,
) -> None:
    session.add(
        AuditEntry(
            actor_id=actor.user_id,
            actor_username=actor.username,
            entity=entity,
            entity_id=str(entity_id),
            action=action,
            changes=_jsonable(changes or {}),
        )
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def search_stmt(
    *,
    entity: str | None = None,
    entity_id: str | None = None,
    actor: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
):
    stmt = select(AuditEntry)
    if entity:
        stmt = stmt.where(AuditEntry.entity == entity)
    if entity_id:
        stmt = stmt.where(AuditEntry.entity_id == entity_id)
    if actor:
        stmt = stmt.where(AuditEntry.actor_username == actor)
    if since:
        stmt = stmt.where(AuditEntry.at >= since)
    if until:
        stmt = stmt.where(AuditEntry.at <= until)
    return stmt
