"""Campaigns (专项行动): create (idempotent by client id), read, list."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.deps import AnyUser, Cursor, Db, Limit, RegionManager
from api.schemas.campaigns import CampaignCreate, CampaignRead
from api.schemas.common import Day, Page
from api.schemas.units import ERRORS
from services import campaigns
from services.models import Campaign
from services.pagination import paginate

router = APIRouter(prefix="/api/v1")


@router.post(
    "/campaigns",
    response_model=CampaignRead,
    status_code=201,
    tags=["campaigns"],
    responses={200: {"model": CampaignRead, "description": "a replayed creation"}, **ERRORS},
)
def create_campaign(
    db: Db, actor: RegionManager, body: CampaignCreate, response: Response
) -> Campaign:
    """Create a campaign; the same id with the same body returns the stored one (200)."""
    campaign, created = campaigns.create_campaign(db, actor, **body.model_dump())
    response.status_code = 201 if created else 200
    return campaign


@router.get(
    "/campaigns/{campaign_id}", response_model=CampaignRead, tags=["campaigns"], responses=ERRORS
)
def get_campaign(db: Db, actor: AnyUser, campaign_id: uuid.UUID) -> Campaign:
    """A campaign of the caller's region, its subtree or an ancestor region."""
    return campaigns.get_campaign(db, actor, campaign_id)


@router.get("/campaigns", response_model=Page[CampaignRead], tags=["campaigns"], responses=ERRORS)
def list_campaigns(
    db: Db,
    actor: AnyUser,
    region: Annotated[
        str | None,
        Query(pattern=r"^[0-9]{12}$", description="campaigns in this subtree or above it"),
    ] = None,
    active_on: Annotated[Day | None, Query(description="only campaigns running that day")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
):
    """Campaigns that concern the caller's region, ordered by start date."""
    stmt = campaigns.list_campaigns_stmt(db, actor, region=region, active_on=active_on)
    return paginate(db, stmt, [Campaign.starts_on, Campaign.id], limit=limit, cursor=cursor)
