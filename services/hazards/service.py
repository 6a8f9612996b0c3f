"""Recording hazards and applying lifecycle events."""

from __future__ import annotations

import uuid
from collections.abc import Container
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, and_, false, func, not_, or_, select
from sqlalchemy.orm import Session

from services import audit, outbox
from services.actors import Actor
from services.errors import Forbidden, Invalid, NotFound, TransitionNotAllowed
from services.hazards.lifecycle import OPEN_STATES, TRANSITIONS
from services.idempotency import check_replay, content_hash
from services.models import Hazard, HazardEvent, Unit
from services.periods import local_month
from services.reference import active_categories, require_category
from services.regions import contains, in_subtree
from services.settings import get_settings

# A phone's clock may run a little ahead of ours; more than this is a time in the future.
CLOCK_SKEW = timedelta(minutes=5)


def now() -> datetime:
    # In UTC: the local zone's lookup (astimezone()) cost a /sync batch more than its checks.
    return datetime.now(UTC)


def check_not_future(at: datetime, loc: list[Any]) -> None:
    if at > now() + CLOCK_SKEW:
        raise Invalid(loc, "is in the future")


def deadline_instant(value: date | datetime) -> datetime:
    """A deadline given as a date means the end of that day, local time."""
    if isinstance(value, datetime):
        return value
    tz = get_settings().tz
    return datetime.combine(value + timedelta(days=1), time(), tz) - timedelta(microseconds=1)


# --- reading --------------------------------------------------------------------------------


def visible_to(actor: Actor) -> Any:
    """The one filter for which hazards an actor may see."""
    if actor.is_unit:
        return Hazard.unit_id == actor.unit_id
    return in_subtree(Hazard.region_code, actor.scope)


def get_hazard(
    session: Session, actor: Actor, hazard_id: uuid.UUID, *, lock: bool = False
) -> Hazard:
    stmt = select(Hazard).where(Hazard.id == hazard_id, visible_to(actor))
    if lock:
        stmt = stmt.with_for_update()
    hazard = session.scalar(stmt)
    if hazard is None:
        raise NotFound("hazard", hazard_id)
    return hazard


def list_events(session: Session, hazard_id: uuid.UUID) -> list[HazardEvent]:
    return list(
        session.scalars(
            select(HazardEvent).where(HazardEvent.hazard_id == hazard_id).order_by(HazardEvent.seq)
        )
    )


def overdue_clause(at: datetime) -> Any:
    """Overdue at `at`, for lists: the figures' rule as the row keeps it (`overdue_after`,
    services/metrics/definitions.py). The status and deadline terms let the open-deadline index
    find the candidates; COALESCE keeps the clause from being NULL, so `not_` is its complement
    (with the caller's deadline IS NULL)."""
    return and_(
        Hazard.status.in_(OPEN_STATES),
        Hazard.deadline < at,
        func.coalesce(Hazard.overdue_after < at, false()),
    )


def list_hazards_stmt(
    actor: Actor,
    *,
    region: str | None = None,
    status: str | None = None,
    level: str | None = None,
    overdue: bool | None = None,
    unit_id: uuid.UUID | None = None,
    category: str | None = None,
    found_from: datetime | None = None,
    found_to: datetime | None = None,
) -> Select[tuple[Hazard]]:
    stmt = select(Hazard).where(visible_to(actor))
    if region:
        stmt = stmt.where(in_subtree(Hazard.region_code, region))
    if status:
        stmt = stmt.where(Hazard.status == status)
    if level:
        stmt = stmt.where(Hazard.level == level)
    if unit_id:
        stmt = stmt.where(Hazard.unit_id == unit_id)
    if category:
        stmt = stmt.where(Hazard.category == category)
    if found_from:
        stmt = stmt.where(Hazard.found_at >= found_from)
    if found_to:
        stmt = stmt.where(Hazard.found_at <= found_to)
    if overdue is not None:
        clause = overdue_clause(now())
        stmt = stmt.where(clause if overdue else or_(not_(clause), Hazard.deadline.is_(None)))
    return stmt


# --- recording ------------------------------------------------------------------------------


def _check_plan(level: str, plan: dict | None, loc: list[Any]) -> None:
    if plan is not None and level != "major":
        raise Invalid([*loc, "governance_plan"], "only major hazards carry a governance plan")


def hazard_row(
    actor: Actor,
    *,
    unit_id: uuid.UUID,
    region_code: str,
    data: dict[str, Any],
    found_at: datetime,
    source: str,
    loc: list[Any],
    categories: Container[str],
    digest: str,
    inspection_id: uuid.UUID | None = None,
    self_report_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    """The checks of a new finding and the column values it is stored with (the one place).

    `categories`: the active hazard category codes (at least this hazard's, if active).
    """
    require_category(data["category"], categories, [*loc, "category"])
    _check_plan(data["level"], data.get("governance_plan"), loc)
    deadline = None
    if data["handling"] == "deadline":
        if data.get("deadline") is None:
            raise Invalid([*loc, "deadline"], "is required when handling is deadline")
        deadline = deadline_instant(data["deadline"])
        if deadline <= found_at:
            raise Invalid([*loc, "deadline"], "must be after the time the hazard was found")
    elif data.get("deadline") is not None:
        raise Invalid([*loc, "deadline"], "a hazard fixed on the spot has no deadline")

    on_the_spot = data["handling"] == "on_the_spot"
    return {
        "id": data["id"],
        "unit_id": unit_id,
        "region_code": region_code,
        "inspection_id": inspection_id,
        "self_report_id": self_report_id,
        "source": source,
        "level": data["level"],
        "category": data["category"],
        "description": data["description"],
        "location": data.get("location"),
        "handling": data["handling"],
        "found_at": found_at,
        "found_month": local_month(found_at, get_settings().tz),
        "status": "closed" if on_the_spot else "reported",
        "initial_deadline": deadline,
        "deadline": deadline,
        "closed_at": found_at if on_the_spot else None,
        "governance_plan": data.get("governance_plan"),
        "created_by": actor.user_id,
        "request_hash": digest,
    }


def hazard_digest(data: dict[str, Any], *, found_at: datetime, unit_id: uuid.UUID) -> str:
    """The content hash a hazard's id is tied to (what a retry must send again)."""
    return content_hash({**data, "found_at": found_at, "unit_id": unit_id})


def create_hazard(
    session: Session,
    actor: Actor,
    *,
    unit: Unit,
    data: dict[str, Any],
    found_at: datetime,
    source: str,
    loc: list[Any],
    inspection_id: uuid.UUID | None = None,
    self_report_id: uuid.UUID | None = None,
) -> tuple[Hazard, bool]:
    """Store one finding; returns (hazard, created). A stored id must carry the same content."""
    digest = hazard_digest(data, found_at=found_at, unit_id=unit.id)
    existing = session.get(Hazard, data["id"])
    if existing is not None:
        check_replay("hazard", existing.request_hash, digest)
        return existing, False

    row = hazard_row(
        actor,
        unit_id=unit.id,
        region_code=unit.region_code,
        data=data,
        found_at=found_at,
        source=source,
        loc=loc,
        categories=active_categories(session, [data["category"]]),
        digest=digest,
        inspection_id=inspection_id,
        self_report_id=self_report_id,
    )
    hazard = Hazard(**row)
    session.add(hazard)
    outbox.mark(session, [(unit.region_code, row["found_month"])])
    return hazard, True


def set_governance_plan(
    session: Session, actor: Actor, *, hazard_id: uuid.UUID, plan: dict[str, Any]
) -> Hazard:
    """Add or replace a major hazard's governance plan (治理方案), possibly after it was found."""
    hazard = get_hazard(session, actor, hazard_id, lock=True)
    if hazard.level != "major":
        raise Invalid(["body", "governance_plan"], "only major hazards carry a governance plan")
    if hazard.status == "voided":
        raise TransitionNotAllowed("a voided hazard cannot be changed")
    hazard.governance_plan = plan
    audit.record(
        session, actor, entity="hazard", entity_id=hazard.id, action="governance_plan", changes=plan
    )
    return hazard


def _replayed_event(
    session: Session, actor: Actor, event_id: uuid.UUID, digest: str
) -> HazardEvent | None:
    """The stored event of this id, if any: a retry must name the same hazard (visible to the
    caller) and carry the same content."""
    existing = session.scalar(select(HazardEvent).where(HazardEvent.id == event_id))
    if existing is not None:
        get_hazard(session, actor, existing.hazard_id)
        check_replay("event", existing.request_hash, digest)
    return existing


def apply_event(
    session: Session, actor: Actor, *, hazard_id: uuid.UUID, data: dict[str, Any]
) -> tuple[HazardEvent, bool]:
    """Apply one lifecycle step; returns (event, created). Refused moves change nothing."""
    event_type = data["type"]
    digest = content_hash({**data, "hazard_id": hazard_id})
    replayed = _replayed_event(session, actor, data["id"], digest)
    if replayed is not None:
        return replayed, False

    transition = TRANSITIONS.get(event_type)
    if transition is None:
        raise Invalid(["body", "type"], f"must be one of {', '.join(TRANSITIONS)}")
    hazard = get_hazard(session, actor, hazard_id, lock=True)  # serialises events per hazard
    # Looked for again under the lock: a retry that arrived while its original was still being
    # written waited for that lock, and is a replay now, not a move from the new state (it was
    # answered 409 "cannot start_rectification a hazard that is rectifying").
    replayed = _replayed_event(session, actor, data["id"], digest)
    if replayed is not None:
        return replayed, False
    if actor.role not in transition.roles:
        raise Forbidden(f"role {actor.role} may not {event_type}")
    if hazard.status not in transition.sources:
        raise TransitionNotAllowed(f"cannot {event_type} a hazard that is {hazard.status}")

    at: datetime = data["at"]
    last = session.scalar(
        select(HazardEvent)
        .where(HazardEvent.hazard_id == hazard.id)
        .order_by(HazardEvent.seq.desc())
        .limit(1)
    )
    _check_event_time(hazard, last, at)
    _check_event_fields(hazard, event_type, data, at)

    event = HazardEvent(
        id=data["id"],
        hazard_id=hazard.id,
        seq=(last.seq + 1) if last else 1,
        type=event_type,
        at=at,
        actor_id=actor.user_id,
        actor_role=actor.role,
        note=data.get("note"),
        deadline=deadline_instant(data["deadline"]) if data.get("deadline") else None,
        department=data.get("department"),
        photo_ids=[str(p) for p in data.get("photo_ids") or []],
        from_status=hazard.status,
        to_status=transition.target or hazard.status,
        request_hash=digest,
    )
    session.add(event)
    apply_to_hazard(hazard, event)
    outbox.mark(session, [(hazard.region_code, hazard.found_month)])
    audit.record(
        session,
        actor,
        entity="hazard",
        entity_id=hazard.id,
        action=event_type,
        changes={"from": event.from_status, "to": event.to_status, "at": at},
    )
    return event, True


def _check_event_time(hazard: Hazard, last: HazardEvent | None, at: datetime) -> None:
    if at < hazard.found_at:
        raise Invalid(["body", "at"], "is earlier than the time the hazard was found")
    if last is not None and at < last.at:
        raise Invalid(["body", "at"], "is earlier than the hazard's previous event")
    check_not_future(at, ["body", "at"])


def _check_event_fields(
    hazard: Hazard, event_type: str, data: dict[str, Any], at: datetime
) -> None:
    if event_type == "extend":
        if data.get("deadline") is None:
            raise Invalid(["body", "deadline"], "is required to extend")
        if hazard.deadline is None:
            raise TransitionNotAllowed("a hazard without a deadline cannot be extended")
        if at > hazard.deadline:
            raise TransitionNotAllowed("an extension must be decided before the current deadline")
        if deadline_instant(data["deadline"]) <= hazard.deadline:
            raise Invalid(["body", "deadline"], "must be later than the current deadline")
    elif data.get("deadline") is not None:
        raise Invalid(["body", "deadline"], "only an extend event carries a deadline")
    if event_type == "transfer" and not data.get("department"):
        raise Invalid(["body", "department"], "is required to transfer")
    if event_type != "transfer" and data.get("department"):
        raise Invalid(["body", "department"], "only a transfer event names a department")
    if event_type == "void" and not (data.get("note") or "").strip():
        raise Invalid(["body", "note"], "a reason is required to void a hazard")


def apply_to_hazard(hazard: Hazard, event: HazardEvent) -> None:
    """Keep the hazard's current-state columns in step with its events (the one place)."""
    hazard.status = event.to_status
    if event.type == "submit_rectification":
        hazard.submitted_at = event.at
    elif event.type == "verify":
        hazard.closed_at = event.at
    elif event.type == "void":
        hazard.voided_at = event.at
    elif event.type == "extend":
        hazard.deadline = event.deadline
    elif event.type == "supervise":
        hazard.supervised = True
    elif event.type == "transfer":
        hazard.transferred_to = event.department


def check_unit_scope(
    actor: Actor, unit_id: uuid.UUID, unit_region: str | None, loc: list[Any]
) -> str:
    """The rule for where a caller may record findings; returns the unit's region.

    `unit_region`: the stored unit's region code, None when there is no such unit.
    """
    if unit_region is None or not contains(actor.scope, unit_region):
        raise Invalid(loc, "unknown unit")
    if actor.is_unit and unit_id != actor.unit_id:
        raise Invalid(loc, "unknown unit")
    return unit_region
