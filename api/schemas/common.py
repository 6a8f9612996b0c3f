from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, field_serializer

from services.settings import get_settings

T = TypeVar("T")


class WriteModel(BaseModel):
    """Base of every request body: unknown fields are refused, so nobody sets `status` by hand."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ReadModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    @field_serializer("*", mode="wrap")
    def _local_times(self, value: Any, handler: Any) -> Any:
        # Times go out in the configured zone, whatever offset they came in with.
        if isinstance(value, datetime) and value.tzinfo is not None:
            return value.astimezone(get_settings().tz).isoformat()
        return handler(value)


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None
