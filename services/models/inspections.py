from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, Index, String, Text, Uuid, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.models.base import Base, RegionCode


class Inspection(Base):
    """A visit to one unit on a date by one or more inspectors."""

    __tablename__ = "inspections"
    __table_args__ = (
        Index("ix_inspections_region_month", "region_code", "inspected_month"),
        # Coverage reads the months each unit was inspected in from this index alone.
        Index("ix_inspections_unit_month", "unit_id", "inspected_month"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    unit_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("units.id"))
    # The unit's region when it was inspected, stored so figures need no join.
    region_code: Mapped[str] = mapped_column(RegionCode, ForeignKey("regions.code"))
    kind: Mapped[str] = mapped_column(String(20))
    campaign_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("campaigns.id"))
    inspected_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # First day of the local-time month of inspected_at: the period, fixed at write time.
    inspected_month: Mapped[date] = mapped_column(Date)
    inspectors: Mapped[list[str]] = mapped_column(JSONB)
    departments: Mapped[list[str]] = mapped_column(JSONB, default=list)
    notice_number: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    created_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    request_hash: Mapped[str] = mapped_column(String(64))
