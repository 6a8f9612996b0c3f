from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import Field

from api.schemas.common import Instant, LocalDatetime, ReadModel, WriteModel
from api.schemas.hazards import HazardCreate, HazardRead


class SelfReportHazard(HazardCreate):
    """A hazard the unit found itself, with the time it found it (inside the quarter)."""

    found_at: Instant = Field(description="when the unit found it; inside the quarter")


class SelfReportFile(WriteModel):
    zero_hazard: bool = Field(description="true declares zero hazards (零隐患); then list none")
    hazards: Annotated[list[SelfReportHazard], Field(max_length=200)] = Field(
        default_factory=list, description="the hazards found; required unless zero_hazard"
    )


class SelfReportVersionRead(ReadModel):
    version: int
    filed_at: LocalDatetime = Field(description="server receipt time")
    filed_by: uuid.UUID | None = Field(description="the user who filed this version")
    by_unit: bool = Field(description="filed from the unit's own account (false: 代报 by staff)")
    zero_hazard: bool
    hazard_ids: list[uuid.UUID]


class SelfReportSummary(ReadModel):
    id: uuid.UUID
    unit_id: uuid.UUID
    region_code: str
    quarter: str
    first_filed_at: LocalDatetime = Field(description="receipt time of version 1")
    filed_by_unit: bool = Field(description="version 1 was filed by the unit itself")
    on_time: bool = Field(description="version 1 was received by the reporting deadline")
    zero_hazard: bool = Field(description="as the latest version says")
    version: int = Field(description="the latest version number")
    updated_at: LocalDatetime
    deadline: LocalDatetime = Field(description="the quarter's reporting deadline")


class SelfReportRead(SelfReportSummary):
    versions: list[SelfReportVersionRead]
    hazards: list[HazardRead] = Field(description="the hazards the latest version lists")


class RosterEntry(ReadModel):
    unit_id: uuid.UUID
    unit_name: str
    region_code: str
    filed: bool
    report: SelfReportSummary | None
    on_time: bool | None
    filed_by_unit: bool | None
    zero_hazard: bool | None
