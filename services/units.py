"""Units (生产经营单位 / 场所): creation with client-chosen ids, edits, status history, reads."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.dialects.postgresql import MultiRange, Range
from sqlalchemy.orm import Session

from services import audit, auth, outbox
from services import credit_code as credit_codes
from services.actors import Actor
from services.errors import Conflict, Invalid, NotFound
from services.idempotency import check_replay, content_hash
from services.metrics.compute import first_month
from services.models import Unit, UnitStatusChange, User
from services.periods import add_months, local_month
from services.reference import resolve_kind
from services.regions import check_code, contains, get_region, in_subtree, require_region
from services.settings import get_settings

STATUSES = ("operating", "suspended", "closed")
EARLIEST = date(1900, 1, 1)
# Fields a PATCH may change; region moves go through the import (matched by credit code).
EDITABLE = (
    "name",
    "kind",
    "industry",
    "credit_code",
    "address",
    "key_supervision",
    "reporting_required",
    "status",
    "operating_since",
)
NOT_NULL = ("name", "kind", "key_supervision", "reporting_required", "status")
# What decides whether a unit is on a quarter's roster (and so the reporting figures).
ROSTER_FIELDS = ("status", "reporting_required", "operating_since", "region_code")


def today() -> date:
    """Today in the configured local time zone."""
    return datetime.now(get_settings().tz).date()


def _current_month() -> date:
    return local_month(datetime.now(get_settings().tz), get_settings().tz)


def months_from(first: date) -> list[date]:
    """First days of every local month from `first`'s month up to the current one."""
    end = _current_month()
    month = date(first.year, first.month, 1)
    out = []
    while month <= end:
        out.append(month)
        month = add_months(month, 1)
    return out or [end]


def _live_start(session: Session) -> date:
    """The first month the live figures cover (the figures' own rule), looked up once per
    transaction: an import marks thousands of units."""
    transaction = session.get_transaction()
    cached = session.info.get("live_start")
    if cached is None or cached[0] is not transaction:
        cached = session.info["live_start"] = (transaction, first_month(session, _current_month()))
    return cached[1]


def mark_roster(
    session: Session,
    region_codes: set[str],
    since: date | None,
    buckets: set[tuple[str, date]] | None = None,
) -> None:
    """The roster of every month from `since` on changed for these regions: recompute them.

    `since` None: from the first month of the live figures, as a unit with no opening date
    is on every roster (until session 14 this marked the current month alone, and earlier
    quarters kept the old roster until the nightly full recompute).
    With `buckets`, the marks are collected there for the caller to write once (an import).
    """
    first = since if since is not None else _live_start(session)
    touched = {(r, m) for r in region_codes for m in months_from(first)}
    if buckets is not None:
        buckets.update(touched)
    else:
        outbox.mark(session, touched)


def _check_status(status: str, field: str = "status") -> str:
    if status not in STATUSES:
        raise Invalid(field, f"must be one of {', '.join(STATUSES)}")
    return status


def _check_date(value: date | None, field: str) -> date | None:
    if value is None:
        return None
    if value < EARLIEST:
        raise Invalid(field, f"may not be before {EARLIEST.isoformat()}")
    if value > today():
        raise Invalid(field, "may not be in the future")
    return value


def _check_credit_free(
    session: Session, code: str | None, unit_id: uuid.UUID | None, field: Any = "credit_code"
) -> None:
    if code is None:
        return
    other = session.scalar(select(Unit.id).where(Unit.credit_code == code))
    if other is not None and other != unit_id:
        raise Conflict(f"credit code {code} is already on another unit")


def _text(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


def create_unit(
    session: Session,
    actor: Actor,
    *,
    id: uuid.UUID | None = None,
    name: str,
    region_code: str,
    kind: str,
    industry: str | None = None,
    credit_code: str | None = None,
    address: str | None = None,
    key_supervision: bool = False,
    reporting_required: bool = False,
    status: str = "operating",
    operating_since: date | None = None,
    status_since: date | None = None,
    buckets: set[tuple[str, date]] | None = None,
) -> tuple[Unit, bool]:
    """Create a unit, or replay a retried creation with the same id. Returns (unit, created)."""
    name = (name or "").strip()
    if not name:
        raise Invalid("name", "may not be empty")
    require_region(session, region_code, scope=actor.scope, field="region_code")
    kind = resolve_kind(session, kind, "kind")
    code = credit_codes.validate(credit_code, "credit_code")
    _check_status(status)
    _check_date(operating_since, "operating_since")
    _check_date(status_since, "status_since")
    if status_since and operating_since and status_since < operating_since:
        raise Invalid("status_since", "may not be before operating_since")
    fields = {
        "name": name,
        "region_code": region_code,
        "kind": kind,
        "industry": _text(industry),
        "credit_code": code,
        "address": _text(address),
        "key_supervision": bool(key_supervision),
        "reporting_required": bool(reporting_required),
        "status": status,
        "operating_since": operating_since,
        "status_since": status_since,
    }
    digest = content_hash(fields)
    if id is not None:
        stored = session.get(Unit, id)
        if stored is not None:
            if not contains(actor.scope, stored.region_code):
                raise Conflict("a unit with this id already exists")
            check_replay("unit", stored.request_hash, digest)
            return stored, False
    _check_credit_free(session, code, None)
    closed_on = (status_since or today()) if status == "closed" else None
    unit = Unit(id=id or uuid.uuid4(), closed_on=closed_on, request_hash=digest, **fields)
    session.add(unit)
    session.flush()
    session.add(
        UnitStatusChange(unit_id=unit.id, status=status, since=status_since, actor_id=actor.user_id)
    )
    audit.record(session, actor, entity="unit", entity_id=unit.id, action="create", changes=fields)
    mark_roster(session, {region_code}, operating_since, buckets)
    return unit, True


def get_unit(session: Session, actor: Actor, unit_id: uuid.UUID) -> Unit:
    """A unit the caller may see: in its subtree, and for a unit user only its own."""
    unit = session.get(Unit, unit_id)
    if unit is None or not contains(actor.scope, unit.region_code):
        raise NotFound("unit", unit_id)
    if actor.is_unit and actor.unit_id != unit.id:
        raise NotFound("unit", unit_id)
    return unit


def update_unit(
    session: Session,
    actor: Actor,
    *,
    unit_id: uuid.UUID,
    changes: dict[str, Any],
    status_since: date | None = None,
    unit: Unit | None = None,
    buckets: set[tuple[str, date]] | None = None,
) -> Unit:
    """Apply the given fields; a status change needs the date it took effect."""
    unit = unit or get_unit(session, actor, unit_id)
    unknown = set(changes) - set(EDITABLE) - {"region_code"}
    if unknown:
        raise Invalid(sorted(unknown)[0], "may not be changed")
    for field in NOT_NULL:
        if field in changes and changes[field] is None:
            raise Invalid(field, "may not be null")
    new: dict[str, Any] = {}
    if "name" in changes:
        name = changes["name"].strip()
        if not name:
            raise Invalid("name", "may not be empty")
        new["name"] = name
    if "region_code" in changes:
        new["region_code"] = require_region(
            session, changes["region_code"], scope=actor.scope, field="region_code"
        ).code
    if "kind" in changes:
        new["kind"] = resolve_kind(session, changes["kind"], "kind")
    for field in ("industry", "address"):
        if field in changes:
            new[field] = _text(changes[field])
    if "credit_code" in changes:
        new["credit_code"] = credit_codes.validate(changes["credit_code"], "credit_code")
    for field in ("key_supervision", "reporting_required"):
        if field in changes:
            new[field] = bool(changes[field])
    if "operating_since" in changes:
        new["operating_since"] = _check_date(changes["operating_since"], "operating_since")
    if "status" in changes:
        new["status"] = _check_status(changes["status"])
    _check_date(status_since, "status_since")

    diff = {f: [getattr(unit, f), v] for f, v in new.items() if getattr(unit, f) != v}
    status_changed = "status" in diff
    if status_changed:
        if status_since is None:
            raise Invalid("status_since", "is required when the status changes")
        if unit.status_since is not None and status_since < unit.status_since:
            raise Invalid(
                "status_since",
                f"may not be before the current status's date {unit.status_since.isoformat()}",
            )
        opened = new.get("operating_since", unit.operating_since)
        if opened is not None and status_since < opened:
            raise Invalid("status_since", "may not be before operating_since")
    elif status_since is not None and status_since != unit.status_since:
        raise Invalid("status_since", "may only be given with a change of status")
    if "operating_since" in diff and not status_changed and unit.status == "closed":
        opened = diff["operating_since"][1]
        if opened is not None and unit.closed_on is not None and opened > unit.closed_on:
            raise Invalid("operating_since", "may not be after the unit's closing date")
    if "credit_code" in diff:
        _check_credit_free(session, new["credit_code"], unit.id)
    if not diff:
        return unit

    old_region, old_closed, old_since = unit.region_code, unit.closed_on, unit.status_since
    affected: list[date] = []
    for field, (_, value) in diff.items():
        setattr(unit, field, value)
    if status_changed:
        assert status_since is not None
        unit.status_since = status_since
        unit.closed_on = status_since if unit.status == "closed" else None
        if old_closed is not None and unit.closed_on is None and status_since > old_closed:
            # Reopened: the span it was closed stays off the roster of the quarters it covers.
            gap = Range(old_closed, status_since, bounds="[)")
            unit.closed_gaps = MultiRange([*(unit.closed_gaps or []), gap])
        diff["status_since"] = [old_since, status_since]
        session.add(
            UnitStatusChange(
                unit_id=unit.id, status=unit.status, since=status_since, actor_id=actor.user_id
            )
        )
        affected += [d for d in (status_since, old_closed) if d]
    if "operating_since" in diff:
        affected += [d for d in diff["operating_since"] if d]
    unit.updated_at = func.now()
    session.flush()
    audit.record(session, actor, entity="unit", entity_id=unit.id, action="update", changes=diff)
    if "region_code" in diff:
        _move_unit_users(session, actor, unit)
    if any(f in diff for f in ROSTER_FIELDS):
        since = min(affected) if affected else unit.operating_since  # reporting_required
        if "region_code" in diff:
            since = unit.operating_since  # the unit moved: every month it was on a roster
        mark_roster(session, {old_region, unit.region_code}, since, buckets)
    return unit


def _move_unit_users(session: Session, actor: Actor, unit: Unit) -> None:
    """A unit user's region is its unit's: it moves with the unit, and the user's sessions end,
    since a token's caller carries the old region. Before session 14 a unit moved by an
    import left its users in the old village, unable to see their unit or file its reports."""
    for user in session.scalars(select(User).where(User.unit_id == unit.id)):
        changes = {"region_code": [user.region_code, unit.region_code]}
        user.region_code = unit.region_code
        auth.revoke_sessions(session, user)
        audit.record(
            session, actor, entity="user", entity_id=user.id, action="update", changes=changes
        )


def list_units_stmt(
    session: Session,
    actor: Actor,
    *,
    region: str | None = None,
    kind: str | None = None,
    status: str | None = None,
) -> Select[Any]:
    """Units the caller may see, optionally below `region` (404 outside the caller's subtree)."""
    stmt = select(Unit).where(in_subtree(Unit.region_code, actor.scope))
    if region is not None:
        check_code(region, ["query", "region"])  # type: ignore[arg-type]
        get_region(session, region, scope=actor.scope)
        stmt = stmt.where(in_subtree(Unit.region_code, region))
    if actor.is_unit:
        stmt = stmt.where(Unit.id == actor.unit_id)
    if kind is not None:
        stmt = stmt.where(Unit.kind == kind)
    if status is not None:
        stmt = stmt.where(Unit.status == _check_status(status, "status"))
    return stmt


def status_history(session: Session, unit: Unit) -> list[UnitStatusChange]:
    return list(
        session.scalars(
            select(UnitStatusChange)
            .where(UnitStatusChange.unit_id == unit.id)
            .order_by(UnitStatusChange.recorded_at, UnitStatusChange.id)
        )
    )
