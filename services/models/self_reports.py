from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.models.base import Base, RegionCode


class SelfReport(Base):
    """A unit's quarterly self-inspection report (自查自报). Its versions are kept below.

    The first version decides timeliness and who filed; the latest decides zero hazards.
    """

    __tablename__ = "self_reports"
    __table_args__ = (
        UniqueConstraint("unit_id", "quarter", name="uq_self_reports_unit_quarter"),
        Index("ix_self_reports_region_quarter", "region_code", "quarter"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    unit_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("units.id"))
    region_code: Mapped[str] = mapped_column(RegionCode, ForeignKey("regions.code"))
    quarter: Mapped[str] = mapped_column(String(6))  # e.g. 2026Q2
    first_filed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    filed_by_unit: Mapped[bool] = mapped_column(Boolean)  # False: filed by staff (代报)
    on_time: Mapped[bool] = mapped_column(Boolean)
    zero_hazard: Mapped[bool] = mapped_column(Boolean)  # as the latest version says
    version: Mapped[int] = mapped_column(Integer)  # latest version number
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SelfReportVersion(Base):
    __tablename__ = "self_report_versions"
    __table_args__ = (
        UniqueConstraint("report_id", "version", name="uq_self_report_versions_report_version"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    report_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("self_reports.id"))
    version: Mapped[int] = mapped_column(Integer)
    filed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # server receipt time
    filed_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    by_unit: Mapped[bool] = mapped_column(Boolean)
    zero_hazard: Mapped[bool] = mapped_column(Boolean)
    hazard_ids: Mapped[list[str]] = mapped_column(JSONB, default=list)
    request_hash: Mapped[str] = mapped_column(String(64))
