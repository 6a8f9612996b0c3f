from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Generic, TypeVar, get_args

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainValidator,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
    WrapSerializer,
    field_validator,
)

from services.periods import YEARS, YEARS_RULE
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


def _in_years(value: date) -> date:
    if value.year not in YEARS:
        raise ValueError(YEARS_RULE)
    return value


_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _plain_day(value: Any) -> Any:
    # Pydantic reads "2026-10-15T00:00:00" as that date, so a time sent without its offset
    # became the end of that day (a deadline almost 24 h later than sent): times need offsets.
    if isinstance(value, str) and not _DAY.match(value):
        raise ValueError("must be a date (YYYY-MM-DD); a time needs its UTC offset")
    return value


# Times and dates the API takes in: times with their UTC offset (RFC 3339), dates as
# YYYY-MM-DD, both within `services.periods.YEARS`.
Instant = Annotated[AwareDatetime, AfterValidator(_in_years)]
Day = Annotated[date, BeforeValidator(_plain_day), AfterValidator(_in_years)]
_AS_INSTANT = TypeAdapter(Instant)


def _instant_or_day(value: Any) -> datetime | date:
    """A date when it is one (YYYY-MM-DD), else a time: one type, so an error names the
    field alone, not each member of a union it was tried against."""
    if isinstance(value, str):
        if len(value) == 10 and _DAY.match(value):
            return _in_years(date.fromisoformat(value))
        try:  # the common case, parsed in C; anything else gets pydantic's parsing and message
            parsed = datetime.fromisoformat(value)
        except ValueError:
            parsed = None
        if parsed is not None and parsed.tzinfo is not None:
            return _in_years(parsed)
    elif isinstance(value, date) and not isinstance(value, datetime):
        return _in_years(value)
    try:
        return _AS_INSTANT.validate_python(value)
    except ValidationError as exc:
        raise ValueError(exc.errors()[0]["msg"]) from None


InstantOrDay = Annotated[
    datetime | date,
    PlainValidator(_instant_or_day),
    WithJsonSchema(
        {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "string", "format": "date"}]}
    ),
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
