"""Request and response bodies of campaigns (专项行动)."""

from __future__ import annotations

import uuid
from datetime import date

from pydantic import Field

from api.schemas.common import Day, LocalDatetime, ReadModel, WriteModel


class CampaignCreate(WriteModel):
    id: uuid.UUID | None = Field(
        default=None, description="client-chosen id; a retry with the same id and body replays"
    )
    name: str = Field(min_length=1, max_length=200, examples=["九小场所消防安全专项检查"])
    region_code: str = Field(pattern=r"^[0-9]{12}$", description="the campaign's scope")
    starts_on: Day
    ends_on: Day = Field(description="on or after starts_on")
    note: str | None = Field(default=None, max_length=5000)


class CampaignRead(ReadModel):
    id: uuid.UUID
    name: str
    region_code: str
    starts_on: date
    ends_on: date
    note: str | None
    created_by: uuid.UUID | None
    created_at: LocalDatetime
