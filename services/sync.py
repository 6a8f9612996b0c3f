"""A phone coming back online: its queued inspections and events, applied in order.

Each item runs in its own savepoint, so one bad item does not stop or undo the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from services.actors import Actor
from services.errors import Conflict, DomainError, Invalid
from services.hazards import apply_event
from services.inspections import record_inspection

MAX_ITEMS = 500


def _result(kind: str, index: int, item_id: Any, outcome: str, detail: Any = None) -> dict:
    out = {"kind": kind, "index": index, "id": str(item_id) if item_id else None, "result": outcome}
    if detail is not None:
        out["detail"] = detail
    return out


def _run(session: Session, kind: str, index: int, item_id: Any, write: Callable[[], bool]) -> dict:
    savepoint = session.begin_nested()
    try:
        created = write()
        savepoint.commit()
        return _result(kind, index, item_id, "stored" if created else "already_stored")
    except DomainError as exc:
        savepoint.rollback()
        if isinstance(exc, Conflict):
            return _result(kind, index, item_id, "conflict", str(exc))
        detail: Any = str(exc)
        if isinstance(exc, Invalid):
            detail = [{"loc": exc.loc, "msg": exc.reason}]
        return _result(kind, index, item_id, "refused", detail)


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
    results = []
    for i, (data, detail) in enumerate(inspections):
        if data is None:
            results.append(_result("inspection", i, detail.get("id"), "refused", detail["errors"]))
            continue
        results.append(
            _run(
                session,
                "inspection",
                i,
                data["id"],
                lambda d=data, i=i: record_inspection(
                    session, actor, data=d, loc=["body", "inspections", i]
                )[1],
            )
        )
    for i, (data, detail) in enumerate(events):
        if data is None:
            results.append(_result("event", i, detail.get("id"), "refused", detail["errors"]))
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
