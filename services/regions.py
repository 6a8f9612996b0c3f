"""Region codes (12-digit statistical division codes) and the subtree rule for access."""

from __future__ import annotations

import re

from sqlalchemy import ColumnElement, Select, literal, select, true
from sqlalchemy.orm import Session

from services.errors import Invalid, NotFound
from services.models import Region

SEGMENTS = (2, 2, 2, 3, 3)  # province, city, county, township, village
LEVEL_NAMES = ("province", "city", "county", "township", "village")
_CODE = re.compile(r"^[0-9]{12}$")


def _bounds() -> list[tuple[int, int]]:
    out, start = [], 0
    for width in SEGMENTS:
        out.append((start, start + width))
        start += width
    return out


BOUNDS = _bounds()


def check_code(code: str, field: str | list[str | int] = "region_code") -> str:
    if not isinstance(code, str) or not _CODE.match(code):
        raise Invalid(field, "must be a 12-digit statistical division code")
    if code[:2] == "00":
        raise Invalid(field, "the province segment may not be zero")
    # A zero segment may not be followed by a non-zero one (e.g. 110000001000).
    seen_zero = False
    for a, b in BOUNDS:
        zero = code[a:b] == "0" * (b - a)
        if seen_zero and not zero:
            raise Invalid(field, "a non-zero segment follows a zero one")
        seen_zero = seen_zero or zero
    return code


def level_of(code: str) -> int:
    """1 for a province … 5 for a village."""
    level = 0
    for i, (a, b) in enumerate(BOUNDS):
        if code[a:b] != "0" * (b - a):
            level = i + 1
    return level


def parent_of(code: str) -> str | None:
    """The code with its lowest non-zero segment zeroed; None for a province."""
    level = level_of(code)
    if level <= 1:
        return None
    a, b = BOUNDS[level - 1]
    return code[:a] + "0" * (b - a) + code[b:]


def prefix_of(code: str) -> str:
    """The significant digits: every code in the subtree starts with them."""
    return code[: BOUNDS[level_of(code) - 1][1]]


def in_subtree(column: ColumnElement[str], root: str | None) -> ColumnElement[bool]:
    """`column` lies in the subtree of `root` (None: everywhere, for admins)."""
    if root is None:
        return true()
    return column.startswith(literal(prefix_of(root)), autoescape=False)


def contains(root: str | None, code: str) -> bool:
    return root is None or code.startswith(prefix_of(root))


def get_region(session: Session, code: str, *, scope: str | None = None) -> Region:
    region = session.get(Region, code)
    if region is None or not contains(scope, code):
        raise NotFound("region", code)
    return region


def require_region(session: Session, code: str, *, scope: str | None, field: str) -> Region:
    """A region the caller may write into, or a 422 naming the field."""
    check_code(code, field)
    region = session.get(Region, code)
    if region is None or not contains(scope, code):
        raise Invalid(field, "unknown region")
    return region


def put_region(session: Session, *, code: str, name: str) -> tuple[Region, bool]:
    """Create or rename a region; its parent must exist already. The code is the request's
    path (`PUT /regions/{code}`), and errors name it there."""
    field = ["path", "code"]
    check_code(code, field)
    region = session.get(Region, code)
    if region is not None:
        region.name = name
        return region, False
    parent = parent_of(code)
    if parent is not None and session.get(Region, parent) is None:
        raise Invalid(field, f"parent region {parent} does not exist yet")
    region = Region(code=code, name=name, parent_code=parent, level=level_of(code))
    session.add(region)
    session.flush()
    return region, True


def children_stmt(parent: str | None, scope: str | None) -> Select[tuple[Region]]:
    """The children of `parent`; without one, the top regions (an admin) or the caller's whole
    subtree. Unordered: the caller pages it by code."""
    stmt = select(Region).where(in_subtree(Region.code, scope))
    if parent is None:
        return stmt.where(Region.parent_code.is_(None)) if scope is None else stmt
    return stmt.where(Region.parent_code == parent)
