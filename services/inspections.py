"""Inspections (检查) and the hazards found in them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from services import outbox
from services.actors import Actor
from services.errors import Conflict, Invalid, NotFound
from services.hazards.service import check_not_future, create_hazard, unit_in_scope
from services.idempotency import check_replay, content_hash
from services.models import Campaign, Hazard, Inspection
from services.periods import local_month
from services.regions import contains, in_subtree
from services.settings import get_settings

KINDS = ("routine", "holiday", "campaign", "joint", "spot_check", "enforcement", "re_inspection")


def record_inspection(
    session: Session, actor: Actor, *, data: dict[str, Any], loc: list[Any] | None = None
) -> tuple[Inspection, bool]:
    """Store an inspection with its hazards; returns (inspection, created).

    The same id with the same content replays the stored record; with other content it is a
    conflict. Hazards are found at `inspected_at`.
    """
    loc = loc or ["body"]
    digest = content_hash(data)
    existing = session.get(Inspection, data["id"])
    if existing is not None:
        if not contains(actor.scope, existing.region_code):
            raise Conflict("inspection with this id already exists with different content")
        check_replay("inspection", existing.request_hash, digest)
        return existing, False

    unit = unit_in_scope(session, actor, data["unit_id"], [*loc, "unit_id"])
    inspected_at: datetime = data["inspected_at"]
    check_not_future(inspected_at, [*loc, "inspected_at"])
    if data.get("kind") not in KINDS:
        raise Invalid([*loc, "kind"], f"must be one of {', '.join(KINDS)}")
    if data.get("campaign_id") is not None:
        campaign = session.get(Campaign, data["campaign_id"])
        if campaign is None or not contains(campaign.region_code, unit.region_code):
            raise Invalid([*loc, "campaign_id"], "unknown campaign, or not covering this unit")
    _check_unique_hazard_ids(data.get("hazards") or [], loc)

    month = local_month(inspected_at, get_settings().tz)
    inspection = Inspection(
        id=data["id"],
        unit_id=unit.id,
        region_code=unit.region_code,
        kind=data["kind"],
        campaign_id=data.get("campaign_id"),
        inspected_at=inspected_at,
        inspected_month=month,
        inspectors=list(data["inspectors"]),
        departments=list(data.get("departments") or []),
        notice_number=data.get("notice_number"),
        note=data.get("note"),
        created_by=actor.user_id,
        request_hash=digest,
    )
    session.add(inspection)
    session.flush()  # the hazards refer to it
    hazards = data.get("hazards") or []
    _refuse_stored_hazard_ids(session, hazards)
    for i, hazard_data in enumerate(hazards):
        create_hazard(
            session,
            actor,
            unit=unit,
            data=hazard_data,
            found_at=inspected_at,
            source="inspection",
            loc=[*loc, "hazards", i],
            inspection_id=inspection.id,
            known_new=True,
            mark=False,  # every hazard lies in the inspection's own bucket, marked once below
        )
    outbox.mark(session, [(unit.region_code, month)])
    session.flush()
    return inspection, True


def _refuse_stored_hazard_ids(session: Session, hazards: list[dict[str, Any]]) -> None:
    """One query for all of an inspection's hazard ids: a stored one belongs elsewhere."""
    ids = [h["id"] for h in hazards]
    if not ids:
        return
    taken = session.scalar(select(Hazard.id).where(Hazard.id.in_(ids)).limit(1))
    if taken is not None:
        raise Conflict(f"hazard {taken} already exists")


def _check_unique_hazard_ids(hazards: list[dict[str, Any]], loc: list[Any]) -> None:
    seen: set[uuid.UUID] = set()
    for i, h in enumerate(hazards):
        if h["id"] in seen:
            raise Invalid([*loc, "hazards", i, "id"], "is repeated in this inspection")
        seen.add(h["id"])


def get_inspection(session: Session, actor: Actor, inspection_id: uuid.UUID) -> Inspection:
    inspection = session.scalar(
        select(Inspection).where(Inspection.id == inspection_id, visible_inspections(actor))
    )
    if inspection is None:
        raise NotFound("inspection", inspection_id)
    return inspection


def visible_inspections(actor: Actor) -> Any:
    if actor.is_unit:
        return Inspection.unit_id == actor.unit_id
    return in_subtree(Inspection.region_code, actor.scope)


def hazards_of(session: Session, inspection_id: uuid.UUID) -> list[Hazard]:
    return list(
        session.scalars(
            select(Hazard)
            .where(Hazard.inspection_id == inspection_id)
            .order_by(Hazard.found_at, Hazard.id)
        )
    )


def list_inspections_stmt(
    actor: Actor,
    *,
    region: str | None = None,
    unit_id: uuid.UUID | None = None,
    kind: str | None = None,
    campaign_id: uuid.UUID | None = None,
    inspected_from: datetime | None = None,
    inspected_to: datetime | None = None,
) -> Select[tuple[Inspection]]:
    stmt = select(Inspection).where(visible_inspections(actor))
    if region:
        stmt = stmt.where(in_subtree(Inspection.region_code, region))
    if unit_id:
        stmt = stmt.where(Inspection.unit_id == unit_id)
    if kind:
        stmt = stmt.where(Inspection.kind == kind)
    if campaign_id:
        stmt = stmt.where(Inspection.campaign_id == campaign_id)
    if inspected_from:
        stmt = stmt.where(Inspection.inspected_at >= inspected_from)
    if inspected_to:
        stmt = stmt.where(Inspection.inspected_at <= inspected_to)
    return stmt
