"""Request and response bodies of units and their import."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from api.schemas.common import Day, LocalDatetime, ReadModel, WriteModel

Status = Literal["operating", "suspended", "closed"]


class UnitCreate(WriteModel):
    id: uuid.UUID | None = Field(
        default=None, description="client-chosen id; a retry with the same id and body replays"
    )
    name: str = Field(min_length=1, max_length=200, examples=["示范五金加工厂"])
    region_code: str = Field(pattern=r"^[0-9]{12}$", description="12-digit division code")
    kind: str = Field(min_length=1, max_length=50, description="a code of GET /unit-kinds")
    industry: str | None = Field(default=None, max_length=100)
    credit_code: str | None = Field(
        default=None, max_length=30, description="统一社会信用代码, GB 32100-2015 (18 characters)"
    )
    address: str | None = Field(default=None, max_length=500)
    key_supervision: bool = Field(description="重点监管")
    reporting_required: bool = Field(description="required to file quarterly self-reports")
    status: Status
    operating_since: Day | None = Field(
        default=None, description="start of the roster interval; unknown: before records began"
    )
    status_since: Day | None = Field(
        default=None, description="date the status took effect (closing date when closed)"
    )


class UnitUpdate(WriteModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    kind: str | None = Field(default=None, min_length=1, max_length=50)
    industry: str | None = Field(default=None, max_length=100)
    credit_code: str | None = Field(default=None, max_length=30)
    address: str | None = Field(default=None, max_length=500)
    key_supervision: bool | None = None
    reporting_required: bool | None = None
    status: Status | None = None
    status_since: Day | None = Field(
        default=None, description="required with a change of status: the date it took effect"
    )
    operating_since: Day | None = None


class UnitRead(ReadModel):
    id: uuid.UUID
    name: str
    region_code: str
    kind: str
    industry: str | None
    credit_code: str | None
    address: str | None
    key_supervision: bool
    reporting_required: bool
    status: Status
    status_since: date | None
    operating_since: date | None
    closed_on: date | None
    created_at: LocalDatetime
    updated_at: LocalDatetime


class ImportProblem(BaseModel):
    field: str
    msg: str


class ImportRow(BaseModel):
    row: int = Field(description="spreadsheet row number (the heading is row 1)")
    result: Literal["created", "updated", "rejected"]
    unit_id: uuid.UUID | None = None
    errors: list[ImportProblem] | None = None


class ImportReport(BaseModel):
    created: int
    updated: int
    rejected: int
    rows: list[ImportRow]


class ErrorDetail(BaseModel):
    detail: str


ERRORS = {
    404: {"model": ErrorDetail, "description": "not found, or outside the caller's region"},
    409: {"model": ErrorDetail, "description": "conflicts with a stored record"},
    422: {"description": "invalid input; `detail[].loc` names the field"},
}
