from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Integer,
    String,
    Text,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.models.base import Base, RegionCode

# The counts a cell stores, in the order of the table. Ratios are computed when read.
CELL_COUNTS = (
    "found_general",
    "found_major",
    "closed_general",
    "closed_major",
    "closed_on_time_general",
    "closed_on_time_major",
    "overdue_general",
    "overdue_major",
    "inspections",
    "units_inspected",
    "roster_units",
    "required_units",
    "reports_filed",
    "reports_on_time",
    "reports_self",
    "reports_zero",
)


def _count() -> Mapped[int]:
    return mapped_column(Integer, server_default=text("0"), default=0)


class MetricCell(Base):
    """The counts behind the figures for one leaf region × period, live or frozen.

    A region's figures are the sums of the cells of its subtree (a prefix match on the code).
    """

    __tablename__ = "metric_cells"
    __table_args__ = (CheckConstraint("view IN ('live', 'frozen')", name="view"),)

    view: Mapped[str] = mapped_column(String(10), primary_key=True)
    period: Mapped[str] = mapped_column(String(7), primary_key=True)  # 2026-05, 2026Q2, 2026
    region_code: Mapped[str] = mapped_column(RegionCode, primary_key=True)
    found_general: Mapped[int] = _count()
    found_major: Mapped[int] = _count()
    closed_general: Mapped[int] = _count()
    closed_major: Mapped[int] = _count()
    closed_on_time_general: Mapped[int] = _count()
    closed_on_time_major: Mapped[int] = _count()
    overdue_general: Mapped[int] = _count()
    overdue_major: Mapped[int] = _count()
    inspections: Mapped[int] = _count()
    units_inspected: Mapped[int] = _count()
    roster_units: Mapped[int] = _count()
    required_units: Mapped[int] = _count()
    reports_filed: Mapped[int] = _count()
    reports_on_time: Mapped[int] = _count()
    reports_self: Mapped[int] = _count()
    reports_zero: Mapped[int] = _count()
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class MetricVersion(Base):
    """A stamp that every commit of cells of a (view, period, township) moves (migration 0005:
    statement triggers on metric_cells). The dashboard's cache compares them, not the cells."""

    __tablename__ = "metric_versions"

    view: Mapped[str] = mapped_column(String(10), primary_key=True)
    period: Mapped[str] = mapped_column(String(7), primary_key=True)
    township: Mapped[str] = mapped_column(String(9, collation="C"), primary_key=True)
    stamp: Mapped[int] = mapped_column(BigInteger)


class FrozenQuarter(Base):
    """A quarter whose figures were frozen as of its cut-off (the reporting deadline)."""

    __tablename__ = "frozen_quarters"

    quarter: Mapped[str] = mapped_column(String(6), primary_key=True)
    cutoff: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    frozen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class FrozenRoster(Base):
    """The quarter's roster as it stood when the quarter was frozen."""

    __tablename__ = "frozen_roster"

    quarter: Mapped[str] = mapped_column(String(6), primary_key=True)
    unit_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    region_code: Mapped[str] = mapped_column(RegionCode)
    reporting_required: Mapped[bool] = mapped_column(Boolean)


class TaskRun(Base):
    """A background job someone asked for, so GET /api/v1/tasks/{id} can report on it."""

    __tablename__ = "task_runs"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'running', 'succeeded', 'failed')", name="status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    kind: Mapped[str] = mapped_column(String(30))
    params: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    error: Mapped[str | None] = mapped_column(Text)
