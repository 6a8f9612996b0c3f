"""Quarterly self-reports (自查自报 季报) and the roster's list of who filed and who did not."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from sqlalchemy.orm import Session

from api.deps import AnyUser, Cursor, Db, Limit, Staff
from api.routers.hazard_views import hazard_read
from api.schemas.common import Page
from api.schemas.self_reports import (
    RosterEntry,
    SelfReportFile,
    SelfReportRead,
    SelfReportSummary,
    SelfReportVersionRead,
)
from services import self_reports
from services.models import SelfReport, Unit
from services.pagination import paginate
from services.periods import parse_quarter

router = APIRouter(prefix="/api/v1", tags=["self-reports"])
ERRORS = {
    403: {"description": "role may not do this"},
    404: {"description": "unit or report not found, or outside the caller's region"},
}
QuarterPath = Annotated[str, Path(description="quarter such as 2026Q2")]


def summary(report: SelfReport) -> SelfReportSummary:
    fields = {c: getattr(report, c) for c in SelfReportSummary.model_fields if c != "deadline"}
    deadline = self_reports.report_deadline(parse_quarter(report.quarter))
    return SelfReportSummary(**fields, deadline=deadline)


def report_read(db: Session, report: SelfReport) -> SelfReportRead:
    versions = self_reports.versions_of(db, report.id)
    latest = versions[-1] if versions else None
    return SelfReportRead(
        **summary(report).model_dump(),
        versions=[SelfReportVersionRead.model_validate(v) for v in versions],
        hazards=[hazard_read(h) for h in self_reports.hazards_of(db, latest)],
    )


def _body_data(body: SelfReportFile) -> dict:
    data = body.model_dump()
    for hazard, given in zip(data["hazards"], body.hazards, strict=True):
        if given.governance_plan is not None:  # stored as JSON: dates become strings
            hazard["governance_plan"] = given.governance_plan.model_dump(mode="json")
    return data


@router.put(
    "/units/{unit_id}/self-reports/{quarter}",
    response_model=SelfReportRead,
    status_code=201,
    responses={
        200: {"model": SelfReportRead, "description": "a new version, or a replay of the latest"},
        409: {"description": "a hazard id already stored with other content"},
        422: {"description": "bad field, quarter not ended, or found_at outside the quarter"},
        **ERRORS,
    },
)
def file_report(
    db: Db,
    actor: AnyUser,
    unit_id: uuid.UUID,
    quarter: QuarterPath,
    body: SelfReportFile,
    response: Response,
):
    """File a unit's report for an ended quarter (PUT: filing again with new content amends it).

    A `unit` user files its own; township staff and inspectors file on its behalf (代报).
    201 when the first version is created; 200 for a new version, or for content identical to
    the latest version (a replay, which changes nothing).
    """
    report, made = self_reports.file_report(
        db, actor, unit_id=unit_id, quarter=quarter, data=_body_data(body)
    )
    response.status_code = 201 if made and report.version == 1 else 200
    return report_read(db, report)


@router.get(
    "/units/{unit_id}/self-reports/{quarter}", response_model=SelfReportRead, responses=ERRORS
)
def get_report(db: Db, actor: AnyUser, unit_id: uuid.UUID, quarter: QuarterPath):
    """A unit's report for a quarter, with its versions and the hazards of the latest one."""
    return report_read(db, self_reports.get_report(db, actor, unit_id=unit_id, quarter=quarter))


@router.get("/self-reports", response_model=Page[RosterEntry], responses=ERRORS)
def list_roster(
    db: Db,
    actor: Staff,
    quarter: Annotated[str, Query(description="quarter such as 2026Q2")],
    region: Annotated[
        str | None, Query(description="region subtree; default the caller's region")
    ] = None,
    filed: Annotated[
        bool | None, Query(description="true: filed only; false: the 未报 list")
    ] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
):
    """The quarter's required units (the roster) below a region, each with its report or none.

    A unit is required when it is flagged to report and was operating at some time of the
    quarter. Ordered by unit id.
    """
    stmt, period = self_reports.roster_stmt(db, actor, region=region, quarter=quarter, filed=filed)
    page = paginate(db, stmt, [Unit.id], limit=limit, cursor=cursor)
    reports = self_reports.reports_for(db, [u.id for u in page.items], period)
    items = []
    for unit in page.items:
        report = reports.get(unit.id)
        items.append(
            RosterEntry(
                unit_id=unit.id,
                unit_name=unit.name,
                region_code=unit.region_code,
                filed=report is not None,
                report=summary(report) if report else None,
                on_time=report.on_time if report else None,
                filed_by_unit=report.filed_by_unit if report else None,
                zero_hazard=report.zero_hazard if report else None,
            )
        )
    return {"items": items, "next_cursor": page.next_cursor}
