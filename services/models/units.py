from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    String,
    Text,
    Uuid,
    func,
)
from sqlalchemy.dialects.postgresql import DATEMULTIRANGE, MultiRange
from sqlalchemy.orm import Mapped, mapped_column

from services.models.base import Base, RegionCode


class Unit(Base):
    """A 生产经营单位 or venue that is inspected and files quarterly self-reports."""

    __tablename__ = "units"
    __table_args__ = (
        CheckConstraint("status IN ('operating', 'suspended', 'closed')", name="status"),
        CheckConstraint("(status = 'closed') = (closed_on IS NOT NULL)", name="closed_on"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    region_code: Mapped[str] = mapped_column(RegionCode, ForeignKey("regions.code"), index=True)
    kind: Mapped[str] = mapped_column(String(50), ForeignKey("unit_kinds.code"))
    industry: Mapped[str | None] = mapped_column(String(100))
    credit_code: Mapped[str | None] = mapped_column(String(18), unique=True)
    address: Mapped[str | None] = mapped_column(Text)
    key_supervision: Mapped[bool] = mapped_column(Boolean, default=False)
    reporting_required: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(20), default="operating")
    status_since: Mapped[date | None] = mapped_column(Date)
    # The roster interval: on a quarter's roster when [operating_since, closed_on) meets it,
    # except where the quarter lies wholly in one of `closed_gaps`, the spans between a closing
    # and a reopening (NULL: never reopened, as almost every unit).
    operating_since: Mapped[date | None] = mapped_column(Date)
    closed_on: Mapped[date | None] = mapped_column(Date)
    closed_gaps: Mapped[MultiRange[date] | None] = mapped_column(DATEMULTIRANGE)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    request_hash: Mapped[str | None] = mapped_column(String(64))


class UnitStatusChange(Base):
    """Every status a unit has had, with the date it took effect."""

    __tablename__ = "unit_status_changes"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    unit_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("units.id"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    since: Mapped[date | None] = mapped_column(Date)
    recorded_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    actor_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
