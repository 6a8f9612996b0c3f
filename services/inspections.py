"""Inspections (检查) and the hazards found in them."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from types import SimpleNamespace
from typing import Any, NamedTuple

import orjson
import psycopg
from psycopg.types.json import set_json_dumps
from sqlalchemy import Select, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from services import auth, outbox, references
from services.actors import Actor
from services.db import HotPool, array_literal, pyformat
from services.errors import Conflict, DomainError, Invalid, NotFound
from services.hazards.service import check_not_future, check_unit_scope, hazard_digest, hazard_row
from services.idempotency import check_replay, content_hash
from services.models import Hazard, Inspection
from services.periods import local_month
from services.regions import contains, in_subtree
from services.settings import get_settings

KINDS = ("routine", "holiday", "campaign", "joint", "spot_check", "enforcement", "re_inspection")


class Recorded(NamedTuple):
    # Stored records, or for a new inspection the rows just written with the stored records'
    # attributes (SimpleNamespace: mapped instances cost more to build than the rest of a POST)
    inspection: Inspection | SimpleNamespace
    hazards: list[Hazard] | list[SimpleNamespace]  # ordered as hazards_of orders them
    created: bool


@dataclass
class Known:
    """What the checks of some inspections need from the database, read in one query.

    A batch's checks run in order against it, and each inspection accepted is added to it, so
    a later item that repeats an earlier one's id is judged as if the earlier one were stored.
    """

    inspections: dict[uuid.UUID, tuple[str, str]]  # stored id -> (region_code, request_hash)
    units: dict[uuid.UUID, str]  # id -> region_code
    campaigns: dict[uuid.UUID, str]  # id -> region_code
    hazard_ids: set[uuid.UUID]  # ids already taken
    categories: set[str]  # the active ones among those asked for


@dataclass
class NewInspection:
    """An inspection that passed every check: its rows, ready to insert."""

    row: dict[str, Any]
    hazards: list[dict[str, Any]]
    bucket: tuple[str, date]  # (region, month) of the inspection and all its hazards


_KNOWN_SQL = """
    SELECT 'inspection', id, region_code::text, request_hash
      FROM inspections WHERE id = ANY(CAST(:inspections AS uuid[]))
    UNION ALL
    SELECT 'unit', id, region_code::text, NULL FROM units WHERE id = ANY(CAST(:units AS uuid[]))
    UNION ALL
    SELECT 'campaign', id, region_code::text, NULL
      FROM campaigns WHERE id = ANY(CAST(:campaigns AS uuid[]))
    UNION ALL
    SELECT 'hazard', id, NULL, NULL FROM hazards WHERE id = ANY(CAST(:hazards AS uuid[]))
    UNION ALL
    SELECT 'category', NULL, code::text, NULL
      FROM hazard_categories WHERE active AND code = ANY(CAST(:categories AS text[]))
    """
_KNOWN = text(_KNOWN_SQL)
# The same, with the callers' checks (each still active at its token's version) as more rows.
HOT_KNOWN_SQL = pyformat(
    f"{_KNOWN_SQL} UNION ALL SELECT 'caller', c.id, CAST(c.token_version AS text), NULL "
    f"FROM ({auth.CALLERS_OK_SQL}) c"
)


def load_known(session: Session, items: list[dict[str, Any]]) -> Known:
    """Everything the checks of these inspections read, in one round trip."""
    session.flush()  # a text statement does not autoflush: what the session holds goes first
    return _known_of(session.execute(_KNOWN, _known_params(items)))


def _known_params(items: list[dict[str, Any]]) -> dict[str, Any]:
    hazards = [h for d in items for h in d.get("hazards") or []]
    return {
        "inspections": array_literal({d["id"] for d in items}),
        "units": array_literal({d["unit_id"] for d in items}),
        "campaigns": array_literal({d["campaign_id"] for d in items if d.get("campaign_id")}),
        "hazards": array_literal({h["id"] for h in hazards}),
        "categories": list({h["category"] for h in hazards}),
    }


def _known_of(rows: Iterable[Any]) -> Known:
    known = Known({}, {}, {}, set(), set())
    for kind, ident, code, digest in rows:
        if kind == "inspection":
            known.inspections[ident] = (code, digest)
        elif kind == "unit":
            known.units[ident] = code
        elif kind == "campaign":
            known.campaigns[ident] = code
        elif kind == "hazard":
            known.hazard_ids.add(ident)
        elif kind == "category":
            known.categories.add(code)
    return known


def check_inspection(
    actor: Actor, data: dict[str, Any], known: Known, *, loc: list[Any]
) -> NewInspection | None:
    """Every rule of a new inspection and its hazards, against `known` (the one place).

    Returns None when the id is stored with this same content (a replay); raises Conflict
    for a reused id with other content, Invalid naming the field for bad input. On success
    `known` counts the inspection and its hazards as stored.
    """
    digest = content_hash(data)
    stored = known.inspections.get(data["id"])
    if stored is not None:
        stored_region, stored_hash = stored
        if not contains(actor.scope, stored_region):
            raise Conflict("inspection with this id already exists with different content")
        check_replay("inspection", stored_hash, digest)
        return None

    unit_id = data["unit_id"]
    region = check_unit_scope(actor, unit_id, known.units.get(unit_id), [*loc, "unit_id"])
    inspected_at: datetime = data["inspected_at"]
    check_not_future(inspected_at, [*loc, "inspected_at"])
    if data.get("kind") not in KINDS:
        raise Invalid([*loc, "kind"], f"must be one of {', '.join(KINDS)}")
    if data.get("campaign_id") is not None:
        campaign_region = known.campaigns.get(data["campaign_id"])
        if campaign_region is None or not contains(campaign_region, region):
            raise Invalid([*loc, "campaign_id"], "unknown campaign, or not covering this unit")
    hazards = data.get("hazards") or []
    _check_unique_hazard_ids(hazards, loc)
    for h in hazards:
        if h["id"] in known.hazard_ids:
            raise Conflict(f"hazard {h['id']} already exists")

    month = local_month(inspected_at, get_settings().tz)
    row = {
        "id": data["id"],
        "unit_id": unit_id,
        "region_code": region,
        "kind": data["kind"],
        "campaign_id": data.get("campaign_id"),
        "inspected_at": inspected_at,
        "inspected_month": month,
        "inspectors": list(data["inspectors"]),
        "departments": list(data.get("departments") or []),
        "notice_number": data.get("notice_number"),
        "note": data.get("note"),
        "created_by": actor.user_id,
        "request_hash": digest,
    }
    hazard_rows = [
        hazard_row(
            actor,
            unit_id=unit_id,
            region_code=region,
            data=h,
            found_at=inspected_at,  # hazards are found at the inspection's time
            source="inspection",
            loc=[*loc, "hazards", i],
            categories=known.categories,
            digest=hazard_digest(h, found_at=inspected_at, unit_id=unit_id),
            inspection_id=data["id"],
        )
        for i, h in enumerate(hazards)
    ]
    known.inspections[data["id"]] = (region, digest)
    known.hazard_ids.update(h["id"] for h in hazards)
    return NewInspection(row, hazard_rows, (region, month))


def json_insert(table: str, columns: list[str], param: str) -> str:
    """INSERT of the rows given as one JSON array of objects keyed by column (`param`).

    One orjson call encodes them all; an array parameter per column cost psycopg a Python
    call per value, the most of a small write's CPU in the API (BENCHMARKS.md, figure 3).
    A JSON null is SQL NULL, also in jsonb columns.
    """
    names = ", ".join(columns)
    return (
        f"INSERT INTO {table} ({names}) SELECT {names} "
        f"FROM json_populate_recordset(NULL::{table}, CAST(:{param} AS json))"
    )


def _rows_json(rows: list[dict[str, Any]]) -> str:
    return orjson.dumps(rows).decode()


_INSPECTION_COLUMNS = [
    ("id", "uuid"),
    ("unit_id", "uuid"),
    ("region_code", "text"),
    ("kind", "text"),
    ("campaign_id", "uuid"),
    ("inspected_at", "timestamptz"),
    ("inspected_month", "date"),
    ("inspectors", "jsonb"),
    ("departments", "jsonb"),
    ("notice_number", "text"),
    ("note", "text"),
    ("created_by", "uuid"),
    ("request_hash", "text"),
]
_HAZARD_COLUMNS = [
    ("id", "uuid"),
    ("unit_id", "uuid"),
    ("region_code", "text"),
    ("inspection_id", "uuid"),
    ("self_report_id", "uuid"),
    ("source", "text"),
    ("level", "text"),
    ("category", "text"),
    ("description", "text"),
    ("location", "text"),
    ("handling", "text"),
    ("found_at", "timestamptz"),
    ("found_month", "date"),
    ("status", "text"),
    ("initial_deadline", "timestamptz"),
    ("deadline", "timestamptz"),
    ("closed_at", "timestamptz"),
    ("governance_plan", "jsonb"),
    ("created_by", "uuid"),
    ("request_hash", "text"),
]
# One statement writes every inspection and hazard and marks their buckets; the foreign keys
# from the hazards to the inspections are checked at its end, when both are in. Being one
# statement, it is atomic by itself: the hot path sends it on an autocommit connection.
_WRITE_SQL = (
    "WITH new_inspections AS ("
    + json_insert("inspections", [c for c, _ in _INSPECTION_COLUMNS], "inspections")
    + " RETURNING received_at), new_hazards AS ("
    + json_insert("hazards", [c for c, _ in _HAZARD_COLUMNS], "hazards")
    + f"), {outbox.MARKS_CTE} SELECT received_at FROM new_inspections LIMIT 1"
)
_WRITE = text(_WRITE_SQL)
HOT_WRITE_SQL = pyformat(_WRITE_SQL)


def _write_params(new: list[NewInspection]) -> dict[str, Any]:
    return {
        "inspections": _rows_json([n.row for n in new]),
        "hazards": _rows_json([h for n in new for h in n.hazards]),
        **outbox.marks_params(n.bucket for n in new),
    }


def _json(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


def _copy(session: Session, table: str, columns: list[tuple[str, str]], rows: list[dict]) -> None:
    """COPY rows into a table in the session's transaction (constraints and defaults apply).

    Binary format: psycopg encodes it about three times faster than text rows.
    """
    names = [c for c, _ in columns]
    statement = f"COPY {table} ({', '.join(names)}) FROM STDIN (FORMAT BINARY)"
    cursor = session.connection().connection.driver_connection.cursor()
    set_json_dumps(_json, context=cursor)  # orjson: quicker, and it knows dates
    try:
        with cursor.copy(statement) as copy:
            copy.set_types([t for _, t in columns])
            for row in rows:
                copy.write_row([row[c] for c in names])
    except psycopg.Error as exc:
        # As SQLAlchemy raises them for its own statements (IntegrityError, OperationalError
        # …), so callers and the API's error handlers treat both paths alike.
        raise DBAPIError.instance(statement, None, exc, psycopg.Error) from exc


# Below this many rows one INSERT with an array per column is quicker; above it, COPY (the
# arrays are encoded in Python, value by value, which costs more than COPY's row format).
COPY_FROM_ROWS = 40


def write_inspections(session: Session, new: list[NewInspection]) -> datetime:
    """Insert checked inspections and their hazards, and mark each (region, month) bucket they
    touch once. Returns the time they were received (the transaction's, the column default)."""
    hazards = [h for n in new for h in n.hazards]
    if len(new) + len(hazards) < COPY_FROM_ROWS:
        received_at = session.execute(_WRITE, _write_params(new)).scalar_one()
        outbox.flag(session)
        return received_at
    session.flush()  # COPY goes around the session: what it holds must be written first
    rows = {"inspections": [n.row for n in new], "hazards": hazards}
    with references.keys_checked_per_batch(session, rows):
        _copy(session, "inspections", _INSPECTION_COLUMNS, rows["inspections"])
        _copy(session, "hazards", _HAZARD_COLUMNS, rows["hazards"])
    outbox.mark(session, [n.bucket for n in new])
    return session.execute(text("SELECT now()")).scalar_one()


def record_inspection(
    session: Session, actor: Actor, *, data: dict[str, Any], loc: list[Any] | None = None
) -> Recorded:
    """Store an inspection with its hazards.

    The same id with the same content replays the stored record; with other content it is a
    conflict. Hazards are found at `inspected_at`.
    """
    new = check_inspection(actor, data, load_known(session, [data]), loc=loc or ["body"])
    if new is None:
        stored = session.get(Inspection, data["id"])
        assert stored is not None
        return Recorded(stored, hazards_of(session, stored.id), False)
    return _recorded(new, write_inspections(session, [new]))


async def record_new_inspections(
    pool: HotPool, posts: list[tuple[auth.Caller, dict[str, Any]]]
) -> list[Recorded | None]:
    """The phones' POSTs of new inspections on the event loop, those that arrived together
    in one read and one write: two statements on `pool`'s autocommit connections, the
    checks' read (with the callers') and the write, atomic by itself.

    Each post is judged as `record_inspection` judges it (`check_inspection`, in order, a
    later post seeing the earlier ones as stored). None for a post means the general path
    must answer it: its caller is no longer valid, a rule refused it (the route gives the
    same refusal), its id is stored already or repeats an earlier post's (a replay or a
    conflict), or another request stored one of the ids between the read and the write (then
    every post of the batch is None, and nothing of any of them was written).
    """
    datas = [data for _, data in posts]
    callers = list({(c.actor.user_id, c.token_version) for c, _ in posts})
    params = {
        **_known_params(datas),
        "uids": array_literal(uid for uid, _ in callers),
        "vers": array_literal(version for _, version in callers),
    }
    try:
        rows = await pool.all(HOT_KNOWN_SQL, params)
    except psycopg.DataError:  # a value the read cannot take: the route answers each post
        return [None] * len(posts)
    valid = {(ident, int(code)) for kind, ident, code, _ in rows if kind == "caller"}
    known = _known_of(rows)
    checked: list[NewInspection | None] = []
    for caller, data in posts:
        new = None
        if (caller.actor.user_id, caller.token_version) in valid:
            try:
                new = check_inspection(caller.actor, data, known, loc=["body"])
            except DomainError:
                pass  # the route refuses it the same way
            except Exception:  # noqa: BLE001 - a fault in one post must not fail its batch
                pass  # the route answers it, and a fault shows there, for this post alone
        checked.append(new)
    accepted = [new for new in checked if new is not None]
    if not accepted:
        return [None] * len(posts)
    try:
        written = await pool.one(HOT_WRITE_SQL, _write_params(accepted))
    except (psycopg.IntegrityError, psycopg.DataError):  # the route's answer: 409 or 422
        return [None] * len(posts)
    return [None if new is None else _recorded(new, written.received_at) for new in checked]


# Every column of a new row that the write leaves to its default (NULL, or as below).
_NEW_INSPECTION = dict.fromkeys(c.name for c in Inspection.__table__.columns)
_NEW_HAZARD = {**dict.fromkeys(c.name for c in Hazard.__table__.columns), "supervised": False}


def _recorded(new: NewInspection, received_at: datetime) -> Recorded:
    """The rows just written, as the stored records read: no need to read them back."""
    inspection = SimpleNamespace(**{**_NEW_INSPECTION, **new.row, "received_at": received_at})
    hazards = [
        SimpleNamespace(**{**_NEW_HAZARD, **h, "received_at": received_at}) for h in new.hazards
    ]
    hazards.sort(key=lambda h: (h.found_at, h.id))
    return Recorded(inspection, hazards, True)


def _check_unique_hazard_ids(hazards: list[dict[str, Any]], loc: list[Any]) -> None:
    seen: set[uuid.UUID] = set()
    for i, h in enumerate(hazards):
        if h["id"] in seen:
            raise Invalid([*loc, "hazards", i, "id"], "is repeated in this inspection")
        seen.add(h["id"])


def get_inspection(session: Session, actor: Actor, inspection_id: uuid.UUID) -> Inspection:
    inspection = session.scalar(
        select(Inspection).where(Inspection.id == inspection_id, visible_inspections(actor))
    )
    if inspection is None:
        raise NotFound("inspection", inspection_id)
    return inspection


def visible_inspections(actor: Actor) -> Any:
    if actor.is_unit:
        return Inspection.unit_id == actor.unit_id
    return in_subtree(Inspection.region_code, actor.scope)


def hazards_of(session: Session, inspection_id: uuid.UUID) -> list[Hazard]:
    return list(
        session.scalars(
            select(Hazard)
            .where(Hazard.inspection_id == inspection_id)
            .order_by(Hazard.found_at, Hazard.id)
        )
    )


def list_inspections_stmt(
    actor: Actor,
    *,
    region: str | None = None,
    unit_id: uuid.UUID | None = None,
    kind: str | None = None,
    campaign_id: uuid.UUID | None = None,
    inspected_from: datetime | None = None,
    inspected_to: datetime | None = None,
) -> Select[tuple[Inspection]]:
    stmt = select(Inspection).where(visible_inspections(actor))
    if region:
        stmt = stmt.where(in_subtree(Inspection.region_code, region))
    if unit_id:
        stmt = stmt.where(Inspection.unit_id == unit_id)
    if kind:
        stmt = stmt.where(Inspection.kind == kind)
    if campaign_id:
        stmt = stmt.where(Inspection.campaign_id == campaign_id)
    if inspected_from:
        stmt = stmt.where(Inspection.inspected_at >= inspected_from)
    if inspected_to:
        stmt = stmt.where(Inspection.inspected_at <= inspected_to)
    return stmt
