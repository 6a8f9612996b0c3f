from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, DateTime, func
from sqlalchemy.orm import Mapped, mapped_column

from services.models.base import Base, RegionCode


class MetricMark(Base):
    """Outbox of figure buckets a write touched: (leaf region, local month).

    Written in the same transaction as the change, so a mark survives a broker outage; the
    worker deletes the rows it took in the transaction that recomputes their buckets.
    Append-only rows, not one row per bucket: an upsert would make every concurrent write to a
    bucket queue on that row's lock until the previous writer commits.
    """

    __tablename__ = "metric_marks"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    region_code: Mapped[str] = mapped_column(RegionCode)
    month: Mapped[date] = mapped_column(Date)
    marked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
