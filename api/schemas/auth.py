from __future__ import annotations

import uuid
from typing import Literal

from pydantic import Field

from api.schemas.common import ReadModel, WriteModel


class TokenPair(ReadModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
    refresh_token: str


class RefreshRequest(WriteModel):
    refresh_token: str = Field(min_length=1, max_length=2000)


class UserCreate(WriteModel):
    username: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=8, max_length=200)
    role: Literal["admin", "county", "township", "inspector", "unit"]
    region_code: str | None = Field(default=None, pattern=r"^[0-9]{12}$")
    unit_id: uuid.UUID | None = None


class UserUpdate(WriteModel):
    active: bool | None = None
    password: str | None = Field(default=None, min_length=8, max_length=200)


class UserRead(ReadModel):
    id: uuid.UUID
    username: str
    role: str
    region_code: str | None
    unit_id: uuid.UUID | None
    active: bool
