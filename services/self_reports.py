"""Quarterly self-reports (自查自报 季报): filing, amending, reading, and the roster's 未报 list.

A report belongs to one unit and one ended quarter. Every filing with new content adds a
version: the first decides timeliness and who filed (the unit itself or staff for it, 代报),
the latest decides whether the unit declares zero hazards.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, select, text
from sqlalchemy.orm import Session

from services import audit, outbox
from services.actors import Actor
from services.errors import Conflict, Forbidden, Invalid, NotFound
from services.hazards.service import create_hazard
from services.idempotency import content_hash
from services.metrics.definitions import on_roster as on_roster_sql
from services.models import Hazard, SelfReport, SelfReportVersion, Unit
from services.periods import Period, parse_quarter
from services.regions import check_code, contains, get_region, in_subtree
from services.settings import get_settings

# Who may file: a unit for itself; township staff and inspectors (and admins) on its behalf.
FILERS = ("admin", "township", "inspector", "unit")


def quarter_of_path(quarter: str, loc: list[Any] | None = None) -> Period:
    return parse_quarter(quarter, loc or ["path", "quarter"])  # type: ignore[arg-type]


def report_deadline(period: Period) -> datetime:
    settings = get_settings()
    return period.report_deadline(settings.tz, settings.report_deadline_day)


def on_roster(period: Period) -> Any:
    """Units on the quarter's roster (operating at some time of it), by the figures' own rule
    (definitions.on_roster) on the units table."""
    first, end = "CAST(:roster_first AS date)", "CAST(:roster_end AS date)"
    return text(on_roster_sql(first, end, Unit.__tablename__)).bindparams(
        roster_first=period.first_month, roster_end=period.end_month
    )


def _visible_unit(
    session: Session, actor: Actor, unit_id: uuid.UUID, *, lock: bool = False
) -> Unit:
    """The unit if the caller may see it (its subtree; a unit user only its own), else 404."""
    stmt = select(Unit).where(Unit.id == unit_id)
    if lock:
        # Serialises filings for one unit; NO KEY UPDATE leaves foreign-key inserts unblocked.
        stmt = stmt.with_for_update(key_share=True)
    unit = session.scalar(stmt)
    if unit is None or not contains(actor.scope, unit.region_code):
        raise NotFound("unit", unit_id)
    if actor.is_unit and actor.unit_id != unit.id:
        raise NotFound("unit", unit_id)
    return unit


def _find(session: Session, unit_id: uuid.UUID, period: Period) -> SelfReport | None:
    return session.scalar(
        select(SelfReport).where(SelfReport.unit_id == unit_id, SelfReport.quarter == period.key)
    )


def _content_digest(zero_hazard: bool, hazards: list[dict[str, Any]]) -> str:
    """What a version says, independent of the order the hazards were listed in."""
    listed = sorted(hazards, key=lambda h: str(h["id"]))
    return content_hash({"zero_hazard": zero_hazard, "hazards": listed})


def _check_content(
    period: Period, zero_hazard: bool, hazards: list[dict[str, Any]], loc: list[Any]
) -> None:
    if zero_hazard and hazards:
        raise Invalid([*loc, "zero_hazard"], "a report declaring zero hazards may not list any")
    if not zero_hazard and not hazards:
        raise Invalid(
            [*loc, "hazards"], "list the hazards found, or declare zero hazards with zero_hazard"
        )
    tz = get_settings().tz
    start, end = period.start(tz), period.end(tz)
    seen: set[Any] = set()
    for i, h in enumerate(hazards):
        if h["id"] in seen:
            raise Invalid([*loc, "hazards", i, "id"], "is repeated in this report")
        seen.add(h["id"])
        found_at: datetime = h["found_at"]
        if not start <= found_at < end:
            raise Invalid(
                [*loc, "hazards", i, "found_at"], f"must be inside the quarter {period.key}"
            )


def file_report(
    session: Session,
    actor: Actor,
    *,
    unit_id: uuid.UUID,
    quarter: str,
    data: dict[str, Any],
    now: datetime | None = None,
) -> tuple[SelfReport, bool]:
    """File (or amend) a unit's report for an ended quarter; returns (report, new version made).

    Content identical to the latest version is a replay: nothing changes. Filing time is the
    server's receipt time `now`, never a device's clock.
    """
    if actor.role not in FILERS:
        raise Forbidden(f"role {actor.role} may not file self-reports")
    tz = get_settings().tz
    now = (now or datetime.now(tz)).astimezone(tz)
    period = quarter_of_path(quarter)
    unit = _visible_unit(session, actor, unit_id, lock=True)
    if now < period.end(tz):
        raise Invalid(["path", "quarter"], f"the quarter {period.key} has not ended yet")
    if not session.scalar(select(Unit.id).where(Unit.id == unit.id, on_roster(period))):
        raise Invalid(["path", "quarter"], f"the unit was not operating in {period.key}")

    zero_hazard = bool(data["zero_hazard"])
    # Local time, so the same instant written with another offset is the same content.
    hazards = [{**h, "found_at": h["found_at"].astimezone(tz)} for h in data.get("hazards") or []]
    _check_content(period, zero_hazard, hazards, ["body"])
    digest = _content_digest(zero_hazard, hazards)

    report = _find(session, unit.id, period)
    if report is not None:
        latest = session.scalar(
            select(SelfReportVersion).where(
                SelfReportVersion.report_id == report.id,
                SelfReportVersion.version == report.version,
            )
        )
        if latest is not None and latest.request_hash == digest:
            return report, False
        report.version += 1
        report.zero_hazard = zero_hazard
        report.updated_at = now
        action = "amend"
    else:
        report = SelfReport(
            id=uuid.uuid4(),
            unit_id=unit.id,
            region_code=unit.region_code,
            quarter=period.key,
            first_filed_at=now,
            filed_by_unit=actor.is_unit,
            on_time=now <= report_deadline(period),
            zero_hazard=zero_hazard,
            version=1,
            updated_at=now,
        )
        session.add(report)
        action = "file"
    session.flush()  # the hazards refer to it

    for i, h in enumerate(hazards):
        fields = {k: v for k, v in h.items() if k != "found_at"}
        hazard, created = create_hazard(
            session,
            actor,
            unit=unit,
            data=fields,
            found_at=h["found_at"],
            source="self_report",
            loc=["body", "hazards", i],
            self_report_id=report.id,
        )
        if not created and hazard.self_report_id != report.id:
            raise Conflict(f"hazard {hazard.id} already exists in another record")

    hazard_ids = [str(h["id"]) for h in hazards]
    session.add(
        SelfReportVersion(
            report_id=report.id,
            version=report.version,
            filed_at=now,
            filed_by=actor.user_id,
            by_unit=actor.is_unit,
            zero_hazard=zero_hazard,
            hazard_ids=hazard_ids,
            request_hash=digest,
        )
    )
    outbox.mark(
        session, {(unit.region_code, period.first_month), (report.region_code, period.first_month)}
    )
    audit.record(
        session,
        actor,
        entity="self_report",
        entity_id=report.id,
        action=action,
        changes={
            "unit_id": unit.id,
            "quarter": period.key,
            "version": report.version,
            "by_unit": actor.is_unit,
            "zero_hazard": zero_hazard,
            "hazard_ids": hazard_ids,
            "filed_at": now,
        },
    )
    session.flush()
    return report, True


# --- reading --------------------------------------------------------------------------------


def get_report(session: Session, actor: Actor, *, unit_id: uuid.UUID, quarter: str) -> SelfReport:
    """A unit's report for a quarter, if the caller may see the unit; else 404."""
    period = quarter_of_path(quarter)
    unit = _visible_unit(session, actor, unit_id)
    report = _find(session, unit.id, period)
    if report is None:
        raise NotFound("self_report", f"{unit_id}/{period.key}")
    return report


def versions_of(session: Session, report_id: uuid.UUID) -> list[SelfReportVersion]:
    return list(
        session.scalars(
            select(SelfReportVersion)
            .where(SelfReportVersion.report_id == report_id)
            .order_by(SelfReportVersion.version)
        )
    )


def hazards_of(session: Session, version: SelfReportVersion | None) -> list[Hazard]:
    """The hazards a version lists (the latest version's are what the report now says)."""
    if version is None or not version.hazard_ids:
        return []
    ids = [uuid.UUID(i) for i in version.hazard_ids]
    return list(
        session.scalars(
            select(Hazard).where(Hazard.id.in_(ids)).order_by(Hazard.found_at, Hazard.id)
        )
    )


def roster_stmt(
    session: Session,
    actor: Actor,
    *,
    region: str | None,
    quarter: str,
    filed: bool | None = None,
) -> tuple[Select[tuple[Unit]], Period]:
    """The quarter's required units below `region` (default: the caller's), filed or not."""
    if actor.is_unit:
        raise Forbidden("units may not list the roster")
    period = quarter_of_path(quarter, ["query", "quarter"])
    root = region if region is not None else actor.scope
    if root is not None:
        check_code(root, ["query", "region"])  # type: ignore[arg-type]
        get_region(session, root, scope=actor.scope)  # 404 outside the caller's subtree
    report = and_(SelfReport.unit_id == Unit.id, SelfReport.quarter == period.key)
    stmt = (
        select(Unit)
        .outerjoin(SelfReport, report)
        .where(
            Unit.reporting_required.is_(True),
            on_roster(period),
            in_subtree(Unit.region_code, actor.scope),
            in_subtree(Unit.region_code, root),
        )
    )
    if filed is True:
        stmt = stmt.where(SelfReport.id.is_not(None))
    elif filed is False:
        stmt = stmt.where(SelfReport.id.is_(None))
    return stmt, period


def reports_for(
    session: Session, unit_ids: list[uuid.UUID], period: Period
) -> dict[uuid.UUID, SelfReport]:
    if not unit_ids:
        return {}
    rows = session.scalars(
        select(SelfReport).where(SelfReport.unit_id.in_(unit_ids), SelfReport.quarter == period.key)
    )
    return {r.unit_id: r for r in rows}
