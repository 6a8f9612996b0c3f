"""A phone coming back online: its queued inspections and events, applied in order.

Inspections are checked one by one in Python against what one query read (so a bad item does
not stop or undo the rest), then every accepted one is written at once. Events run each in
their own savepoint, so one bad event does not stop or undo the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.actors import Actor
from services.errors import Conflict, DomainError, Invalid
from services.hazards import apply_event
from services.inspections import (
    NewInspection,
    check_inspection,
    load_known,
    record_inspection,
    write_inspections,
)

MAX_ITEMS = 500


def _result(kind: str, index: int, item_id: Any, outcome: str, detail: Any = None) -> dict:
    out = {"kind": kind, "index": index, "id": str(item_id) if item_id else None, "result": outcome}
    if detail is not None:
        out["detail"] = detail
    return out


def _failure(kind: str, index: int, item_id: Any, exc: DomainError) -> dict:
    if isinstance(exc, Conflict):
        return _result(kind, index, item_id, "conflict", str(exc))
    detail: Any = str(exc)
    if isinstance(exc, Invalid):
        detail = [{"loc": exc.loc, "msg": exc.reason}]
    return _result(kind, index, item_id, "refused", detail)


def _run(session: Session, kind: str, index: int, item_id: Any, write: Callable[[], bool]) -> dict:
    savepoint = session.begin_nested()
    try:
        created = write()
        savepoint.commit()
        return _result(kind, index, item_id, "stored" if created else "already_stored")
    except DomainError as exc:
        savepoint.rollback()
        return _failure(kind, index, item_id, exc)
    except IntegrityError:
        # Another client stored the same id between our check and our insert.
        savepoint.rollback()
        return _result(kind, index, item_id, "conflict", "conflicts with a stored record")


def _refused(kind: str, index: int, detail: dict) -> dict:
    return _result(kind, index, detail.get("id"), "refused", detail["errors"])


def _inspections_in_bulk(
    session: Session, actor: Actor, items: list[tuple[dict[str, Any] | None, Any]]
) -> list[dict] | None:
    """Check every inspection, then write the accepted ones in one statement.

    None when the write hit a unique or foreign key violation: another upload stored some of
    these ids between the check and the write (nothing of this batch is then written).
    """
    known = load_known(session, [data for data, _ in items if data is not None])
    results, new = [], []
    for i, (data, detail) in enumerate(items):
        if data is None:
            results.append(_refused("inspection", i, detail))
            continue
        try:
            checked: NewInspection | None = check_inspection(
                actor, data, known, loc=["body", "inspections", i]
            )
        except DomainError as exc:
            results.append(_failure("inspection", i, data["id"], exc))
            continue
        if checked is None:
            results.append(_result("inspection", i, data["id"], "already_stored"))
        else:
            new.append(checked)
            results.append(_result("inspection", i, data["id"], "stored"))
    if new:
        savepoint = session.begin_nested()
        try:
            write_inspections(session, new)
            savepoint.commit()
        except IntegrityError:
            savepoint.rollback()
            return None
    return results


def _inspections_one_by_one(
    session: Session, actor: Actor, items: list[tuple[dict[str, Any] | None, Any]]
) -> list[dict]:
    results = []
    for i, (data, detail) in enumerate(items):
        if data is None:
            results.append(_refused("inspection", i, detail))
            continue
        results.append(
            _run(
                session,
                "inspection",
                i,
                data["id"],
                lambda d=data, i=i: (
                    record_inspection(
                        session, actor, data=d, loc=["body", "inspections", i]
                    ).created
                ),
            )
        )
    return results


def apply_batch(
    session: Session,
    actor: Actor,
    *,
    inspections: list[tuple[dict[str, Any] | None, Any]],
    events: list[tuple[dict[str, Any] | None, Any]],
) -> list[dict]:
    """Apply validated items; an item whose data is None was refused by validation (`detail`).

    Inspections come first, so events may refer to hazards found in the same batch.
    """
    if len(inspections) + len(events) > MAX_ITEMS:
        raise Invalid(["body"], f"at most {MAX_ITEMS} items per batch")
    results = _inspections_in_bulk(session, actor, inspections)
    if results is None:  # a race with another upload (rare): each item on its own
        results = _inspections_one_by_one(session, actor, inspections)
    for i, (data, detail) in enumerate(events):
        if data is None:
            results.append(_refused("event", i, detail))
            continue
        hazard_id = data.pop("hazard_id")
        results.append(
            _run(
                session,
                "event",
                i,
                data["id"],
                lambda d=data, h=hazard_id: apply_event(session, actor, hazard_id=h, data=d)[1],
            )
        )
    return results
