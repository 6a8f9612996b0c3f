"""Turning stored hazards into their read schemas (shared by the hazard and inspection routes)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from api.schemas.hazards import HazardDetail, HazardEventRead, HazardRead
from services.hazards import is_overdue, list_events
from services.hazards.service import now
from services.models import Hazard
from services.periods import quarter_of


def hazard_read(hazard: Hazard) -> HazardRead:
    return HazardRead.model_validate(
        {
            **{c: getattr(hazard, c) for c in HazardRead.model_fields if hasattr(hazard, c)},
            "period": quarter_of(hazard.found_month),
            "overdue": is_overdue(
                status=hazard.status,
                deadline=hazard.deadline,
                submitted_at=hazard.submitted_at,
                at=now(),
            ),
        }
    )


def hazard_detail(session: Session, hazard: Hazard) -> HazardDetail:
    events = [HazardEventRead.model_validate(e) for e in list_events(session, hazard.id)]
    return HazardDetail(**hazard_read(hazard).model_dump(), events=events)
