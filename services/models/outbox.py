from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, String, func
from sqlalchemy.orm import Mapped, mapped_column

from services.models.base import Base


class MetricMark(Base):
    """Outbox of figure buckets a write touched: (leaf region, local month).

    Written in the same transaction as the change, so a mark survives a broker outage; the
    worker deletes it in the transaction that recomputes the bucket.
    """

    __tablename__ = "metric_marks"

    region_code: Mapped[str] = mapped_column(String(12), primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    marked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
