"""Records for the figures' tests, inserted with the ORM the way the write side stores them.

They mirror the write rules (domain.md): a hazard fixed on the spot is created closed at its
found time with no event; a deadline hazard starts `reported` with deadline = initial_deadline;
each event moves the columns and is appended with the next seq; every write marks its buckets.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services import outbox
from services.hazards.lifecycle import TRANSITIONS
from services.hazards.service import apply_to_hazard
from services.models import (
    Hazard,
    HazardEvent,
    Inspection,
    SelfReport,
    SelfReportVersion,
    Unit,
)
from services.periods import local_month, parse_quarter
from services.settings import get_settings


@dataclass
class Ev:
    type: str
    at: datetime
    received_at: datetime | None = None
    deadline: datetime | None = None  # for extend


@dataclass
class Version:
    filed_at: datetime
    by_unit: bool
    zero_hazard: bool


@dataclass
class Built:
    ids: list[uuid.UUID] = field(default_factory=list)


def _hash(*parts: object) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def _region(session: Session, unit_id: uuid.UUID) -> str:
    return session.scalar(select(Unit.region_code).where(Unit.id == unit_id))


def add_inspection(
    session: Session,
    unit_id: uuid.UUID,
    at: datetime,
    *,
    received_at: datetime | None = None,
    kind: str = "routine",
    region: str | None = None,
) -> uuid.UUID:
    """`region`: where it was recorded, if not the unit's region now (the unit moved since)."""
    region = region or _region(session, unit_id)
    month = local_month(at, get_settings().tz)
    iid = uuid.uuid4()
    row = Inspection(
        id=iid,
        unit_id=unit_id,
        region_code=region,
        kind=kind,
        inspected_at=at,
        inspected_month=month,
        inspectors=["张三"],
        departments=[],
        request_hash=_hash(iid),
    )
    if received_at is not None:
        row.received_at = received_at
    session.add(row)
    session.flush()
    outbox.mark(session, [(region, month)])
    return iid


def apply_event(session: Session, hazard: Hazard, ev: Ev) -> None:
    """Apply one lifecycle event to the hazard's columns and append it."""
    transition = TRANSITIONS[ev.type]
    if hazard.status not in transition.sources:
        raise ValueError(f"{ev.type} not allowed from {hazard.status}")
    seq = (
        session.scalar(
            select(func.coalesce(func.max(HazardEvent.seq), 0)).where(
                HazardEvent.hazard_id == hazard.id
            )
        )
        + 1
    )
    from_status = hazard.status
    to_status = transition.target or from_status
    row = HazardEvent(
        id=uuid.uuid4(),
        hazard_id=hazard.id,
        seq=seq,
        type=ev.type,
        at=ev.at,
        deadline=ev.deadline,
        photo_ids=[],
        note="作废" if ev.type == "void" else None,
        from_status=from_status,
        to_status=to_status,
        request_hash=_hash(hazard.id, seq),
    )
    if ev.received_at is not None:
        row.received_at = ev.received_at
    apply_to_hazard(hazard, row)  # the service's own state rule, not a copy of it
    session.add(row)
    session.flush()
    outbox.mark(session, [(hazard.region_code, hazard.found_month)])


def add_hazard(
    session: Session,
    unit_id: uuid.UUID,
    found_at: datetime,
    *,
    level: str = "general",
    deadline: datetime | None = None,
    events: list[Ev] | None = None,
    source: str = "inspection",
    inspection_id: uuid.UUID | None = None,
    self_report_id: uuid.UUID | None = None,
    received_at: datetime | None = None,
) -> uuid.UUID:
    """A hazard: fixed on the spot when no deadline is given, else under a deadline."""
    region = _region(session, unit_id)
    hid = uuid.uuid4()
    on_the_spot = deadline is None
    hazard = Hazard(
        id=hid,
        unit_id=unit_id,
        region_code=region,
        inspection_id=inspection_id,
        self_report_id=self_report_id,
        source=source,
        level=level,
        category="fire",
        description="安全出口堵塞",
        handling="on_the_spot" if on_the_spot else "deadline",
        found_at=found_at,
        found_month=local_month(found_at, get_settings().tz),
        status="closed" if on_the_spot else "reported",
        initial_deadline=deadline,
        deadline=deadline,
        closed_at=found_at if on_the_spot else None,
        request_hash=_hash(hid),
    )
    if received_at is not None:
        hazard.received_at = received_at
    session.add(hazard)
    session.flush()
    outbox.mark(session, [(region, hazard.found_month)])
    for ev in events or []:
        apply_event(session, hazard, ev)
    return hid


def add_event(session: Session, hazard_id: uuid.UUID, ev: Ev) -> None:
    hazard = session.get(Hazard, hazard_id)
    apply_event(session, hazard, ev)


def add_report(
    session: Session, unit_id: uuid.UUID, quarter: str, versions: list[Version]
) -> uuid.UUID:
    """A self-report with its versions: the first decides timeliness and who filed."""
    settings = get_settings()
    q = parse_quarter(quarter)
    due = q.report_deadline(settings.tz, settings.report_deadline_day)
    region = _region(session, unit_id)
    first, last = versions[0], versions[-1]
    rid = uuid.uuid4()
    session.add(
        SelfReport(
            id=rid,
            unit_id=unit_id,
            region_code=region,
            quarter=quarter,
            first_filed_at=first.filed_at,
            filed_by_unit=first.by_unit,
            on_time=first.filed_at <= due,
            zero_hazard=last.zero_hazard,
            version=len(versions),
            updated_at=last.filed_at,
        )
    )
    session.flush()
    for n, v in enumerate(versions, start=1):
        session.add(
            SelfReportVersion(
                report_id=rid,
                version=n,
                filed_at=v.filed_at,
                by_unit=v.by_unit,
                zero_hazard=v.zero_hazard,
                hazard_ids=[],
                request_hash=_hash(rid, n),
            )
        )
    session.flush()
    outbox.mark(session, [(region, q.first_month)])
    return rid
