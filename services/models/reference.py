"""Venue kinds and hazard categories are data an admin can extend, not enums."""

from __future__ import annotations

from sqlalchemy import Boolean, String, true
from sqlalchemy.orm import Mapped, mapped_column

from services.models.base import Base


class UnitKind(Base):
    __tablename__ = "unit_kinds"

    code: Mapped[str] = mapped_column(String(50), primary_key=True)
    label: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, server_default=true())


class HazardCategory(Base):
    __tablename__ = "hazard_categories"

    code: Mapped[str] = mapped_column(String(50), primary_key=True)
    label: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, server_default=true())
