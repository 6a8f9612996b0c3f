"""Venue kinds and hazard categories: data with a code and a Chinese label."""

from __future__ import annotations

from collections.abc import Container, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.errors import Invalid
from services.models import HazardCategory, UnitKind


def list_kinds(session: Session) -> list[UnitKind]:
    return list(session.scalars(select(UnitKind).where(UnitKind.active).order_by(UnitKind.code)))


def list_categories(session: Session) -> list[HazardCategory]:
    return list(
        session.scalars(
            select(HazardCategory).where(HazardCategory.active).order_by(HazardCategory.code)
        )
    )


def put_kind(session: Session, *, code: str, label: str) -> UnitKind:
    kind = session.get(UnitKind, code) or UnitKind(code=code)
    kind.label, kind.active = label, True
    session.add(kind)
    session.flush()
    return kind


def put_category(session: Session, *, code: str, label: str) -> HazardCategory:
    category = session.get(HazardCategory, code) or HazardCategory(code=code)
    category.label, category.active = label, True
    session.add(category)
    session.flush()
    return category


def resolve_kind(session: Session, value: str, field: str = "kind") -> str:
    """A kind given by its code or its Chinese label."""
    kind = session.get(UnitKind, value) or session.scalar(
        select(UnitKind).where(UnitKind.label == value)
    )
    if kind is None or not kind.active:
        raise Invalid(field, f"unknown unit kind {value!r}")
    return kind.code


def active_categories(session: Session, codes: Iterable[str]) -> set[str]:
    """Which of these hazard category codes are known and active (one query)."""
    wanted = sorted(set(codes))
    if not wanted:
        return set()
    return set(
        session.scalars(
            select(HazardCategory.code).where(
                HazardCategory.code.in_(wanted), HazardCategory.active
            )
        )
    )


def require_category(code: str, active: Container[str], field: str | list = "category") -> str:
    """The rule for a hazard's category: a known, active code (`active` from the above)."""
    if code not in active:
        raise Invalid(field, f"unknown hazard category {code!r}")
    return code
