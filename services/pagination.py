"""Keyset pagination with opaque cursors: `{"items": [...], "next_cursor": str | null}`."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Generic, TypeVar

import orjson
from sqlalchemy import Select, literal, tuple_
from sqlalchemy.orm import InstrumentedAttribute, Session

from services.errors import Invalid

T = TypeVar("T")
MAX_LIMIT = 500


@dataclass
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise Invalid(["query", "limit"], f"must be between 1 and {MAX_LIMIT}")
    return limit


def _encode(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([str(v) for v in values])).decode()


def _decode(cursor: str, n: int) -> list[str]:
    try:
        values = orjson.loads(base64.urlsafe_b64decode(cursor.encode()))
    except Exception as exc:  # any garbage is the client's mistake
        raise Invalid(["query", "cursor"], "is not a cursor this service issued") from exc
    if not isinstance(values, list) or len(values) != n:
        raise Invalid(["query", "cursor"], "is not a cursor this service issued")
    return values


def _typed(key: InstrumentedAttribute[Any], value: str) -> Any:
    """Parse a cursor value back into the key column's Python type."""
    kind = key.type.python_type
    try:
        if kind is datetime:
            return datetime.fromisoformat(value)
        if kind is date:
            return date.fromisoformat(value)
        if kind is uuid.UUID:
            return uuid.UUID(value)
        return kind(value)
    except (ValueError, TypeError) as exc:
        raise Invalid(["query", "cursor"], "is not a cursor this service issued") from exc


def paginate(
    session: Session,
    stmt: Select[Any],
    keys: list[InstrumentedAttribute[Any]],
    *,
    limit: int,
    cursor: str | None,
) -> Page[Any]:
    """Order by `keys` (the last one unique) and return one page after `cursor`."""
    check_limit(limit)
    if cursor:
        values = [_typed(k, v) for k, v in zip(keys, _decode(cursor, len(keys)), strict=True)]
        bound = tuple_(*[literal(v, k.type) for k, v in zip(keys, values, strict=True)])
        stmt = stmt.where(tuple_(*keys) > bound)
    rows = list(session.scalars(stmt.order_by(*keys).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = _encode([getattr(rows[-1], k.key) for k in keys]) if more else None
    return Page(items=rows, next_cursor=next_cursor)
