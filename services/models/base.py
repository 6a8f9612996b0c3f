"""The one declarative base, with a naming convention so migrations name constraints stably."""

from __future__ import annotations

from sqlalchemy import MetaData, String
from sqlalchemy.orm import DeclarativeBase

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


# Division codes are digits compared byte by byte: the "C" collation lets PostgreSQL serve
# `code LIKE '330102%'` (a region's subtree) from a b-tree index, which it does only under C.
RegionCode = String(12, collation="C")
