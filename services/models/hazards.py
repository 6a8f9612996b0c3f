from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Computed,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    false,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.metrics.definitions import COUNT_CLASS_COLUMN, OVERDUE_AFTER_COLUMN
from services.models.base import Base, RegionCode


class Hazard(Base):
    """One finding (事故隐患). Its current state is kept here; its history is in hazard_events."""

    __tablename__ = "hazards"
    __table_args__ = (
        CheckConstraint("level IN ('general', 'major')", name="level"),
        CheckConstraint("handling IN ('on_the_spot', 'deadline')", name="handling"),
        CheckConstraint("source IN ('inspection', 'self_report')", name="source"),
        CheckConstraint(
            "status IN ('reported', 'rectifying', 'rectified', 'closed', 'voided')", name="status"
        ),
        CheckConstraint("handling = 'on_the_spot' OR deadline IS NOT NULL", name="deadline"),
        # Covers the figures' grouping (services/metrics/compute.py): every column a hazard
        # count reads is in the index, so a recompute never visits the rows.
        Index(
            "ix_hazards_region_month",
            "region_code",
            "found_month",
            postgresql_include=["level", "count_class", "overdue_after"],
        ),
        Index(
            "ix_hazards_open_deadline",
            "deadline",
            postgresql_where=text("status IN ('reported', 'rectifying', 'rectified')"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    unit_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("units.id"), index=True)
    # The unit's region when the hazard was found, stored so figures need no join.
    region_code: Mapped[str] = mapped_column(RegionCode, ForeignKey("regions.code"))
    inspection_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("inspections.id"), index=True
    )
    self_report_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("self_reports.id"), index=True
    )
    source: Mapped[str] = mapped_column(String(20))
    level: Mapped[str] = mapped_column(String(10))
    category: Mapped[str] = mapped_column(String(50), ForeignKey("hazard_categories.code"))
    description: Mapped[str] = mapped_column(Text)
    location: Mapped[str | None] = mapped_column(Text)
    handling: Mapped[str] = mapped_column(String(20))
    found_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # First day of the local-time month of found_at: the hazard's period, fixed at write time.
    found_month: Mapped[date] = mapped_column(Date)
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    status: Mapped[str] = mapped_column(String(20))
    initial_deadline: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    deadline: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # latest granted
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    voided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    supervised: Mapped[bool] = mapped_column(Boolean, server_default=false())
    transferred_to: Mapped[str | None] = mapped_column(String(200))
    # None is SQL NULL, as the hot path and COPY store it (not the JSON value null).
    governance_plan: Mapped[dict[str, Any] | None] = mapped_column(JSONB(none_as_null=True))
    created_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    request_hash: Mapped[str] = mapped_column(String(64))
    # How the hazard counts in the figures, and from when it is overdue: the figures' rules
    # (services/metrics/definitions.py), applied by PostgreSQL whenever the row is written.
    count_class: Mapped[int] = mapped_column(
        SmallInteger, Computed(COUNT_CLASS_COLUMN, persisted=True)
    )
    overdue_after: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), Computed(OVERDUE_AFTER_COLUMN, persisted=True)
    )


class HazardEvent(Base):
    """One step of a hazard's lifecycle. Append-only: rows are never updated or deleted."""

    __tablename__ = "hazard_events"
    __table_args__ = (UniqueConstraint("hazard_id", "seq", name="uq_hazard_events_hazard_seq"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    hazard_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("hazards.id"))
    seq: Mapped[int] = mapped_column(Integer)  # the order events were applied in
    type: Mapped[str] = mapped_column(String(30))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    actor_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    actor_role: Mapped[str | None] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    deadline: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    department: Mapped[str | None] = mapped_column(String(200))
    photo_ids: Mapped[list[str]] = mapped_column(JSONB, default=list)
    from_status: Mapped[str] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    request_hash: Mapped[str] = mapped_column(String(64))


class Photo(Base):
    """Evidence photo metadata; the bytes live in photo storage under a server-chosen key."""

    __tablename__ = "photos"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    hazard_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("hazards.id"), index=True)
    content_type: Mapped[str] = mapped_column(String(50))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(200))
    uploaded_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    uploaded_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
