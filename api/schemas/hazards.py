from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import Field

from api.schemas.common import Day, Instant, InstantOrDay, LocalDatetime, ReadModel, WriteModel

Text = Annotated[str, Field(min_length=1, max_length=2000)]
ShortText = Annotated[str, Field(min_length=1, max_length=200)]
DeadlineValue = InstantOrDay


class GovernancePlan(WriteModel):
    """治理方案 of a major hazard: the six parts the interim rules (art. 15) require."""

    goal: str | None = Field(default=None, max_length=2000, description="治理的目标和任务")
    measures: str | None = Field(default=None, max_length=4000, description="采取的方法和措施")
    funds: str | None = Field(default=None, max_length=2000, description="经费和物资的落实")
    responsible: str | None = Field(
        default=None, max_length=2000, description="负责治理的机构和人员"
    )
    time_limit: Day | None = Field(default=None, description="治理的时限")
    safety_measures: str | None = Field(
        default=None, max_length=4000, description="安全措施和应急预案"
    )


class HazardCreate(WriteModel):
    id: uuid.UUID
    level: Literal["general", "major"]
    category: Annotated[str, Field(min_length=1, max_length=50)]
    description: Text
    location: ShortText | None = None
    handling: Literal["on_the_spot", "deadline"]
    deadline: DeadlineValue | None = Field(
        default=None,
        description="required for handling=deadline; a date means the end of that local day",
    )
    governance_plan: GovernancePlan | None = None


class InspectionCreate(WriteModel):
    id: uuid.UUID
    unit_id: uuid.UUID
    kind: Literal[
        "routine", "holiday", "campaign", "joint", "spot_check", "enforcement", "re_inspection"
    ]
    campaign_id: uuid.UUID | None = None
    inspected_at: Instant
    inspectors: Annotated[list[ShortText], Field(min_length=1, max_length=20)]
    departments: Annotated[list[ShortText], Field(max_length=20)] = Field(
        default_factory=list, description="participating departments of a joint inspection"
    )
    notice_number: Annotated[str, Field(max_length=100)] | None = None
    note: Annotated[str, Field(max_length=4000)] | None = None
    hazards: Annotated[list[HazardCreate], Field(max_length=200)] = Field(default_factory=list)


EventType = Literal[
    "start_rectification",
    "submit_rectification",
    "verify",
    "reject",
    "extend",
    "supervise",
    "transfer",
    "void",
]


class HazardEventCreate(WriteModel):
    id: uuid.UUID
    type: EventType
    at: Instant
    note: Annotated[str, Field(max_length=4000)] | None = None
    photo_ids: Annotated[list[uuid.UUID], Field(max_length=20)] = Field(default_factory=list)
    deadline: DeadlineValue | None = Field(default=None, description="the new deadline, for extend")
    department: ShortText | None = Field(
        default=None, description="receiving department, for transfer"
    )


class SyncEvent(HazardEventCreate):
    hazard_id: uuid.UUID


class GovernancePlanUpdate(WriteModel):
    governance_plan: GovernancePlan


class HazardEventRead(ReadModel):
    id: uuid.UUID
    seq: int
    type: str
    at: LocalDatetime
    received_at: LocalDatetime
    actor_id: uuid.UUID | None
    actor_role: str | None
    note: str | None
    deadline: LocalDatetime | None
    department: str | None
    photo_ids: list[uuid.UUID]
    from_status: str
    to_status: str


class HazardRead(ReadModel):
    id: uuid.UUID
    unit_id: uuid.UUID
    region_code: str
    inspection_id: uuid.UUID | None
    self_report_id: uuid.UUID | None
    source: str
    level: str
    category: str
    description: str
    location: str | None
    handling: str
    found_at: LocalDatetime
    received_at: LocalDatetime
    period: str = Field(description="the local-time quarter the hazard belongs to, e.g. 2026Q4")
    status: str
    initial_deadline: LocalDatetime | None
    deadline: LocalDatetime | None = Field(
        description="the deadline that counts: the latest granted"
    )
    submitted_at: LocalDatetime | None
    closed_at: LocalDatetime | None
    voided_at: LocalDatetime | None
    overdue: bool
    supervised: bool
    transferred_to: str | None
    governance_plan: dict | None


class HazardDetail(HazardRead):
    events: list[HazardEventRead]


class InspectionRead(ReadModel):
    id: uuid.UUID
    unit_id: uuid.UUID
    region_code: str
    kind: str
    campaign_id: uuid.UUID | None
    inspected_at: LocalDatetime
    received_at: LocalDatetime
    inspectors: list[str]
    departments: list[str]
    notice_number: str | None
    note: str | None
    hazards: list[HazardRead]


class PhotoRead(ReadModel):
    id: uuid.UUID
    hazard_id: uuid.UUID
    content_type: str
    size: int
    sha256: str
    uploaded_at: LocalDatetime
