"""Import units from the spreadsheets county offices keep (CSV in UTF-8 or GB18030, or XLSX).

Each row is created, updated (matched by credit code, else by name within the same region) or
rejected with its reasons; every row runs in its own savepoint, so a bad row stops nothing.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services import audit, outbox, units
from services import credit_code as credit_codes
from services.actors import Actor
from services.errors import Conflict, Invalid
from services.models import Unit, UnitKind
from services.periods import YEARS, YEARS_RULE
from services.reference import resolve_kind
from services.regions import contains, require_region

MAX_ROWS = 20_000
MAX_BYTES = 10 * 1024 * 1024
MAX_COLUMNS = 200
FILE = ["body", "file"]

# Headings as field names or as county offices write them (a leading * marks a required column).
HEADINGS = {
    "name": "name",
    "单位名称": "name",
    "场所名称": "name",
    "credit_code": "credit_code",
    "统一社会信用代码": "credit_code",
    "region_code": "region_code",
    "所属区划代码": "region_code",
    "区划代码": "region_code",
    "kind": "kind",
    "场所类型": "kind",
    "单位类型": "kind",
    "industry": "industry",
    "行业": "industry",
    "所属行业": "industry",
    "address": "address",
    "地址": "address",
    "单位地址": "address",
    "key_supervision": "key_supervision",
    "重点监管": "key_supervision",
    "reporting_required": "reporting_required",
    "需报季报": "reporting_required",
    "status": "status",
    "状态": "status",
    "经营状态": "status",
    "operating_since": "operating_since",
    "开业日期": "operating_since",
}
TRUE = {"是", "true", "1", "yes", "y", "t", "√"}
FALSE = {"否", "false", "0", "no", "n", "f", "×"}
STATUS = {
    "operating": "operating",
    "在营": "operating",
    "营业": "operating",
    "正常": "operating",
    "存续": "operating",
    "suspended": "suspended",
    "停业整顿": "suspended",
    "停业": "suspended",
    "closed": "closed",
    "关闭": "closed",
    "注销": "closed",
    "吊销": "closed",
}
MAX_LENGTH = {"name": 200, "industry": 100, "address": 500, "kind": 100}
_DATE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$")


@dataclass
class Row:
    number: int  # spreadsheet row number; the heading is row 1
    values: dict[str, Any]


@dataclass
class Outcome:
    row: int
    result: str
    unit_id: Any = None
    errors: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"row": self.row, "result": self.result}
        if self.unit_id is not None:
            out["unit_id"] = self.unit_id
        if self.errors:
            out["errors"] = self.errors
        return out


# --- reading the file -----------------------------------------------------------------------


def _heading(text: Any) -> str:
    return str(text or "").strip().lstrip("*＊").strip().replace("\ufeff", "").lower()


def _cell(value: Any) -> Any:
    """A cell as text (numbers without a trailing .0), a date, or None when empty."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip()
    return text or None


def _table(lines: list[list[Any]] | Any) -> list[Row]:
    """Map the heading row to fields and turn the rest into rows."""
    iterator = iter(lines)
    heading = next(iterator, None)
    if heading is None:
        raise Invalid(FILE, "the file is empty")
    columns: dict[int, str] = {}
    for i, text in enumerate(list(heading)[:MAX_COLUMNS]):
        name = HEADINGS.get(_heading(text))
        if name is None:
            continue  # extra columns (序号, 备注 …) are ignored
        if name in columns.values():
            raise Invalid(FILE, f"two columns are headed {name}")
        columns[i] = name
    missing = [f for f in ("name", "region_code") if f not in columns.values()]
    if missing:
        raise Invalid(FILE, f"no column headed {' or '.join(missing)} (or 单位名称, 所属区划代码)")
    rows = []
    for number, line in enumerate(iterator, start=2):
        cells = list(line)
        values = {f: _cell(cells[i]) if i < len(cells) else None for i, f in columns.items()}
        if all(v is None for v in values.values()):
            continue
        if len(rows) >= MAX_ROWS:
            raise Invalid(FILE, f"more than {MAX_ROWS} rows; split the file")
        rows.append(Row(number, values))
    return rows


def _xlsx(content: bytes) -> list[Row]:
    from openpyxl import load_workbook

    # Broken XML inside the zip raises the XML parser's own errors (lxml's XMLSyntaxError from
    # the workbook or its styles, ElementTree's ParseError from a sheet, read lazily by
    # iter_rows): both are SyntaxError subclasses, and were answered 500.
    unreadable = (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError, SyntaxError)
    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except unreadable as exc:
        raise Invalid(FILE, "not a readable XLSX file") from exc
    try:
        sheet = book.worksheets[0] if book.worksheets else None
        if sheet is None:
            raise Invalid(FILE, "the workbook has no sheet")
        return _table(sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS))
    except unreadable as exc:
        raise Invalid(FILE, "not a readable XLSX file") from exc
    finally:
        book.close()


def _csv(content: bytes) -> list[Row]:
    if b"\x00" in content:
        raise Invalid(FILE, "neither a CSV nor an XLSX file")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = content.decode("gb18030")
        except UnicodeDecodeError as exc:
            raise Invalid(FILE, "a CSV file must be UTF-8 or GB18030") from exc
    try:
        return _table(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise Invalid(FILE, f"not a readable CSV file: {exc}") from exc


def read_rows(content: bytes, filename: str | None = None) -> list[Row]:
    """The data rows of a CSV or XLSX file, or Invalid naming `file`."""
    if not content:
        raise Invalid(FILE, "the file is empty")
    if content.startswith(b"PK\x03\x04"):
        return _xlsx(content)
    if content.startswith(b"\xd0\xcf\x11\xe0"):
        raise Invalid(FILE, "old Excel (.xls) files are not supported; save it as XLSX or CSV")
    return _csv(content)


# --- one row --------------------------------------------------------------------------------


def _bool(value: Any, name: str, errors: list[dict[str, str]]) -> bool | None:
    if value is None:
        return None
    text = str(value).strip().lower()
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    errors.append({"field": name, "msg": f"must be 是 or 否, not {value!r}"})
    return None


def _date(value: Any, name: str, errors: list[dict[str, str]]) -> date | None:
    if value is None:
        return None
    day = value if isinstance(value, date) else None
    match = None if day else _DATE.match(str(value).strip())
    try:
        if match:
            day = date(*(int(g) for g in match.groups()))
    except ValueError:
        pass
    if day is not None and day.year in YEARS:
        return day
    rule = YEARS_RULE if day is not None else "must be a date such as 2020-01-31"
    errors.append({"field": name, "msg": f"{rule}, not {value!r}"})
    return None


class _Resolver:
    """Caches the per-file lookups (kinds and regions repeat on almost every row).

    It also holds the loaded rows: the session's identity map keeps only weak references, so
    without them every row would load its region and kind again.
    """

    def __init__(self, session: Session, actor: Actor) -> None:
        self.session, self.actor = session, actor
        self.kinds: dict[str, str | Invalid] = {}
        self.regions: dict[str, Invalid | None] = {}
        self.loaded: list[Any] = list(session.scalars(select(UnitKind)))

    def kind(self, value: str) -> str:
        if value not in self.kinds:
            try:
                self.kinds[value] = resolve_kind(self.session, value, "kind")
            except Invalid as exc:
                self.kinds[value] = exc
        found = self.kinds[value]
        if isinstance(found, Invalid):
            raise found
        return found

    def region(self, code: str) -> None:
        if code not in self.regions:
            try:
                region = require_region(
                    self.session, code, scope=self.actor.scope, field="region_code"
                )
                self.loaded.append(region)
                self.regions[code] = None
            except Invalid as exc:
                self.regions[code] = exc
        problem = self.regions[code]
        if problem is not None:
            raise problem


class _Index:
    """The stored units a file's rows may match, loaded in two queries and kept current."""

    def __init__(self, session: Session, rows: list[dict[str, Any]]) -> None:
        codes = {r["credit_code"] for r in rows if r["credit_code"]}
        pairs = {(r["region_code"], r["name"]) for r in rows}
        self.by_code: dict[str, Unit] = {}
        self.by_name: dict[tuple[str, str], list[Unit]] = {}
        found: dict[Any, Unit] = {}
        for chunk in _chunks(sorted(codes), 1000):
            found.update(
                {u.id: u for u in session.scalars(select(Unit).where(Unit.credit_code.in_(chunk)))}
            )
        regions = sorted({region for region, _ in pairs})
        names = sorted({name for _, name in pairs})
        for chunk in _chunks(names, 1000):
            stmt = select(Unit).where(Unit.region_code.in_(regions), Unit.name.in_(chunk))
            found.update({u.id: u for u in session.scalars(stmt)})
        for unit in found.values():
            self.add(unit)

    def add(self, unit: Unit) -> None:
        if unit.credit_code:
            self.by_code[unit.credit_code] = unit
        self.by_name.setdefault((unit.region_code, unit.name), []).append(unit)

    def remove(self, unit: Unit, code: str | None, region: str, name: str) -> None:
        if code and self.by_code.get(code) is unit:
            del self.by_code[code]
        same = self.by_name.get((region, name), [])
        if unit in same:
            same.remove(unit)


def _chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _parse(values: dict[str, Any], resolve: _Resolver) -> tuple[dict[str, Any], list[dict]]:
    """Check every cell of a row, collecting all problems rather than stopping at the first."""
    errors: list[dict[str, str]] = []
    out: dict[str, Any] = {}
    for name in ("name", "industry", "address", "kind", "region_code", "credit_code", "status"):
        value = values.get(name)
        if value is not None and not isinstance(value, str):
            value = str(value)
        if value is not None and len(value) > MAX_LENGTH.get(name, 200):
            errors.append({"field": name, "msg": f"longer than {MAX_LENGTH.get(name, 200)}"})
            value = None
        out[name] = value
    if out["name"] is None:
        errors.append({"field": "name", "msg": "is required"})
    if out["region_code"] is None:
        errors.append({"field": "region_code", "msg": "is required"})
    else:
        try:
            resolve.region(out["region_code"])
        except Invalid as exc:
            errors.append({"field": "region_code", "msg": exc.reason})
    if out["kind"] is not None:
        try:
            out["kind"] = resolve.kind(out["kind"])
        except Invalid as exc:
            errors.append({"field": "kind", "msg": exc.reason})
    try:
        out["credit_code"] = credit_codes.validate(out["credit_code"])
    except Invalid as exc:
        errors.append({"field": "credit_code", "msg": exc.reason})
    if out["status"] is not None:
        status = STATUS.get(out["status"].strip().lower())
        if status is None:
            errors.append(
                {"field": "status", "msg": f"unknown status {out['status']!r} (在营/停业整顿/关闭)"}
            )
        out["status"] = status
    out["key_supervision"] = _bool(values.get("key_supervision"), "key_supervision", errors)
    out["reporting_required"] = _bool(
        values.get("reporting_required"), "reporting_required", errors
    )
    out["operating_since"] = _date(values.get("operating_since"), "operating_since", errors)
    return out, errors


def _match(actor: Actor, index: _Index, row: dict[str, Any]) -> tuple[Unit | None, str | None]:
    """The stored unit this row describes: by credit code, else by name within its region."""
    if row["credit_code"]:
        unit = index.by_code.get(row["credit_code"])
        if unit is not None:
            if not contains(actor.scope, unit.region_code):
                raise Conflict("this credit code is on a unit outside your region")
            return unit, "credit_code"
    found = index.by_name.get((row["region_code"], row["name"]), [])
    if len(found) > 1:
        raise Invalid("name", "several units in this region have this name; give the credit code")
    if not found:
        return None, None
    unit = found[0]
    if row["credit_code"] and unit.credit_code and unit.credit_code != row["credit_code"]:
        raise Conflict(
            "a unit of this name in this region has another credit code; correct one of them"
        )
    return unit, "name"


def _apply(
    session: Session,
    actor: Actor,
    index: _Index,
    row: dict[str, Any],
    buckets: set[tuple[str, date]],
) -> tuple[str, Any]:
    unit, matched_by = _match(actor, index, row)
    if unit is None:
        if row["kind"] is None:
            raise Invalid("kind", "is required for a new unit")
        created, _ = units.create_unit(
            session,
            actor,
            name=row["name"],
            region_code=row["region_code"],
            kind=row["kind"],
            industry=row["industry"],
            credit_code=row["credit_code"],
            address=row["address"],
            key_supervision=bool(row["key_supervision"]),
            reporting_required=bool(row["reporting_required"]),
            status=row["status"] or "operating",
            operating_since=row["operating_since"],
            buckets=buckets,
        )
        index.add(created)
        return "created", created.id
    fields = [
        "kind",
        "industry",
        "address",
        "key_supervision",
        "reporting_required",
        "status",
        "operating_since",
        "credit_code",
    ]
    if matched_by == "credit_code":
        fields += ["name", "region_code"]  # the code identifies it: a renamed or moved unit
    changes = {f: row[f] for f in fields if row[f] is not None}
    status_since = None
    if changes.get("status") not in (None, unit.status):
        status_since = max(units.today(), unit.status_since or units.today())
    before = (unit.credit_code, unit.region_code, unit.name)
    units.update_unit(
        session,
        actor,
        unit_id=unit.id,
        changes=changes,
        status_since=status_since,
        unit=unit,
        buckets=buckets,
    )
    if (unit.credit_code, unit.region_code, unit.name) != before:
        index.remove(unit, *before)
        index.add(unit)
    return "updated", unit.id


def import_rows(session: Session, actor: Actor, rows: list[Row]) -> dict[str, Any]:
    """Apply each row in its own savepoint and report what became of it."""
    resolve = _Resolver(session, actor)
    outcomes: list[Outcome] = []
    parsed_rows = [(row, *_parse(row.values, resolve)) for row in rows]
    index = _Index(session, [parsed for _, parsed, errors in parsed_rows if not errors])
    buckets: set[tuple[str, date]] = set()
    for row, parsed, errors in parsed_rows:
        if errors:
            outcomes.append(Outcome(row.number, "rejected", errors=errors))
            continue
        try:
            with session.begin_nested():
                result, unit_id = _apply(session, actor, index, parsed, buckets)
            outcomes.append(Outcome(row.number, result, unit_id=unit_id))
        except Invalid as exc:
            problem = {"field": str(exc.loc[-1]), "msg": exc.reason}
            outcomes.append(Outcome(row.number, "rejected", errors=[problem]))
        except Conflict as exc:
            problem = {"field": "credit_code", "msg": str(exc)}
            outcomes.append(Outcome(row.number, "rejected", errors=[problem]))
        except IntegrityError:
            problem = {"field": "credit_code", "msg": "conflicts with a stored unit"}
            outcomes.append(Outcome(row.number, "rejected", errors=[problem]))
    outbox.mark(session, buckets)
    counts = {
        r: sum(1 for o in outcomes if o.result == r) for r in ("created", "updated", "rejected")
    }
    audit.record(
        session, actor, entity="unit_import", entity_id="-", action="import", changes=counts
    )
    return {**counts, "rows": [o.as_dict() for o in outcomes]}
