from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar, get_args

from pydantic import BaseModel, ConfigDict, WithJsonSchema, WrapSerializer, field_validator

from services.settings import get_settings

T = TypeVar("T")


def _local_time(value: datetime, handler: Any) -> Any:
    # Times go out in the configured zone, whatever offset they came in with.
    if value.tzinfo is not None:
        return value.astimezone(get_settings().tz).isoformat()
    return handler(value)


_LOCAL_TIME = WrapSerializer(_local_time)
# Every time field of a read schema: a serializer on these fields only, not a Python call for
# every field of every response.
LocalDatetime = Annotated[
    datetime,
    _LOCAL_TIME,
    WithJsonSchema({"type": "string", "format": "date-time"}, mode="serialization"),
]


class WriteModel(BaseModel):
    """Base of every request body: unknown fields are refused, so nobody sets `status` by hand;
    text PostgreSQL cannot store (a NUL character) is refused naming its field."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        # Called for every field of every item of a /sync batch: kept to type tests and `in`.
        kind = type(value)
        if kind is str:
            if "\x00" in value:
                raise ValueError("contains a NUL character")
        elif kind is list and any(type(t) is str and "\x00" in t for t in value):
            raise ValueError("contains a NUL character")
        return value


class ReadModel(BaseModel):
    """Base of every response body. Its time fields are `LocalDatetime` (checked here)."""

    model_config = ConfigDict(from_attributes=True)

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        for name, field in cls.model_fields.items():
            if _LOCAL_TIME in field.metadata:
                continue
            if field.annotation is datetime or datetime in get_args(field.annotation):
                raise TypeError(f"{cls.__name__}.{name}: use LocalDatetime for times in responses")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None
