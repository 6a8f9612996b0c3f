"""Campaigns (专项行动): named, dated drives with a region scope that inspections may belong to."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Select, or_, select
from sqlalchemy.orm import Session

from services import audit
from services.actors import Actor
from services.errors import Conflict, Invalid, NotFound
from services.idempotency import check_replay, content_hash
from services.models import Campaign
from services.regions import check_code, contains, get_region, in_subtree, parent_of, require_region


def ancestors(code: str) -> list[str]:
    """The codes above `code`, nearest first."""
    out, parent = [], parent_of(code)
    while parent is not None:
        out.append(parent)
        parent = parent_of(parent)
    return out


def applies_to(column: ColumnElement[str], root: str | None) -> ColumnElement[bool]:
    """Campaigns that concern `root`: those inside its subtree and those of its ancestors.

    A township inspector sees the county's campaign, since its inspections may belong to it.
    """
    if root is None:
        return in_subtree(column, None)
    return or_(in_subtree(column, root), column.in_(ancestors(root)))


def _visible(actor: Actor, code: str) -> bool:
    return actor.scope is None or contains(actor.scope, code) or code in ancestors(actor.scope)


def create_campaign(
    session: Session,
    actor: Actor,
    *,
    id: uuid.UUID | None = None,
    name: str,
    region_code: str,
    starts_on: date,
    ends_on: date,
    note: str | None = None,
) -> tuple[Campaign, bool]:
    """Create a campaign, or replay a retried creation with the same id. Returns (it, created)."""
    name = (name or "").strip()
    if not name:
        raise Invalid("name", "may not be empty")
    require_region(session, region_code, scope=actor.scope, field="region_code")
    if ends_on < starts_on:
        raise Invalid("ends_on", "may not be before starts_on")
    note = (note or "").strip() or None
    fields = {
        "name": name,
        "region_code": region_code,
        "starts_on": starts_on,
        "ends_on": ends_on,
        "note": note,
    }
    digest = content_hash(fields)
    if id is not None:
        stored = session.get(Campaign, id)
        if stored is not None:
            if not _visible(actor, stored.region_code):
                raise Conflict("a campaign with this id already exists")
            check_replay("campaign", stored.request_hash, digest)
            return stored, False
    campaign = Campaign(
        id=id or uuid.uuid4(), created_by=actor.user_id, request_hash=digest, **fields
    )
    session.add(campaign)
    session.flush()
    audit.record(
        session, actor, entity="campaign", entity_id=campaign.id, action="create", changes=fields
    )
    return campaign, True


def get_campaign(session: Session, actor: Actor, campaign_id: uuid.UUID) -> Campaign:
    """A campaign that concerns the caller's region, else 404."""
    campaign = session.get(Campaign, campaign_id)
    if campaign is None or not _visible(actor, campaign.region_code):
        raise NotFound("campaign", campaign_id)
    return campaign


def list_campaigns_stmt(
    session: Session, actor: Actor, *, region: str | None = None, active_on: date | None = None
) -> Select[Any]:
    """Campaigns that concern the caller's region (or `region`, which must be in its subtree)."""
    stmt = select(Campaign).where(applies_to(Campaign.region_code, actor.scope))
    if region is not None:
        check_code(region, ["query", "region"])  # type: ignore[arg-type]
        get_region(session, region, scope=actor.scope)
        stmt = stmt.where(applies_to(Campaign.region_code, region))
    if active_on is not None:
        stmt = stmt.where(Campaign.starts_on <= active_on, Campaign.ends_on >= active_on)
    return stmt
