from __future__ import annotations

from pydantic import Field

from api.schemas.common import ReadModel, WriteModel


class RegionPut(WriteModel):
    name: str = Field(min_length=1, max_length=200)


class RegionRead(ReadModel):
    code: str
    name: str
    parent_code: str | None
    level: int


class LabelledCode(ReadModel):
    code: str
    label: str


class LabelledCodeCreate(WriteModel):
    label: str = Field(min_length=1, max_length=100)
