from __future__ import annotations

from sqlalchemy import CheckConstraint, ForeignKey, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from services.models.base import Base, RegionCode


class Region(Base):
    """A node of the administrative tree, keyed by its 12-digit statistical division code."""

    __tablename__ = "regions"
    __table_args__ = (CheckConstraint("code ~ '^[0-9]{12}$'", name="code_digits"),)

    code: Mapped[str] = mapped_column(RegionCode, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    parent_code: Mapped[str | None] = mapped_column(
        RegionCode, ForeignKey("regions.code"), index=True
    )
    level: Mapped[int] = mapped_column(SmallInteger)  # 1 province … 5 village
