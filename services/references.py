"""Foreign keys checked once per batch instead of once per row, for the batched upload's COPY.

PostgreSQL checks a foreign key with one trigger call per inserted row: a /sync batch of 500
inspections and 1,000 hazards made 5,000 such lookups, half of PostgreSQL's time for the batch
(BENCHMARKS.md, figure 3). Inside `keys_checked_per_batch`, every row's references are looked up
and locked first, one statement for the whole batch, with the lock each row's check would have
taken (FOR KEY SHARE: the referenced row can be neither deleted nor re-keyed before the commit),
and the COPY then runs with `session_replication_role = replica`, under which PostgreSQL skips
the per-row checks. The keys stay declared: every other write is checked by them as before.

The references come from the tables' declared foreign keys (the models' metadata), so a key
added later is checked here too. A reference to a row written in the same batch (a hazard's
inspection) is checked against the batch itself.

Setting `session_replication_role` needs a superuser or, from PostgreSQL 15, `GRANT SET ON
PARAMETER session_replication_role TO <role>`. Without that right, or when a reference is
missing, nothing changes: the rows are written with the per-row checks, and a missing row
raises the foreign-key violation as it always did.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Column, Connection, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from services.db import array_literal
from services.models.base import Base

_ALLOWED = "keys_per_batch_allowed"  # cached per database connection in its `info`
INSUFFICIENT_PRIVILEGE = "42501"


def may_skip_row_checks(connection: Connection) -> bool:
    """Whether the connection's role may set session_replication_role: a right that can be
    granted from PostgreSQL 15 (has_parameter_privilege does not exist before it, where only a
    superuser may)."""
    if connection.dialect.server_version_info < (15,):
        sql = "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
    else:
        sql = "SELECT has_parameter_privilege('session_replication_role', 'SET')"
    return bool(connection.execute(text(sql)).scalar_one())


def allowed(session: Session) -> bool:
    """Whether this connection's role may switch the per-row checks off (asked once)."""
    connection = session.connection()
    if _ALLOWED not in connection.info:
        connection.info[_ALLOWED] = may_skip_row_checks(connection)
    return connection.info[_ALLOWED]


def wanted(rows_by_table: dict[str, list[dict[str, Any]]]) -> dict[Column, set[Any]]:
    """The referenced key values of these rows, by referenced column, less those the batch
    itself writes."""
    out: dict[Column, set[Any]] = {}
    for name, rows in rows_by_table.items():
        for fk in Base.metadata.tables[name].foreign_keys:
            values = {r[fk.parent.name] for r in rows if r.get(fk.parent.name) is not None}
            target = fk.column
            written = rows_by_table.get(target.table.name)
            if written:
                values -= {r[target.name] for r in written}
            if values:
                out.setdefault(target, set()).update(values)
    return out


_ARRAY_OF = {uuid.UUID: "uuid[]", str: "text[]", int: "bigint[]"}  # by the key's Python type


def _lock_all(session: Session, refs: dict[Column, set[Any]]) -> bool:
    """Lock every referenced row (FOR KEY SHARE) in one statement; True when all exist."""
    if not refs:
        return True
    ordered = sorted(refs.items(), key=lambda kv: str(kv[0]))
    parts = [
        f"(SELECT count(*) FROM (SELECT 1 FROM {column.table.name} "
        f"WHERE {column.name} = ANY(CAST(:v{i} AS {_ARRAY_OF[column.type.python_type]}))"
        f" FOR KEY SHARE) r{i}) = {len(values)}"
        for i, (column, values) in enumerate(ordered)
    ]
    statement = text(f"SELECT {' AND '.join(parts)}")
    params = {f"v{i}": array_literal(values) for i, (_, values) in enumerate(ordered)}
    return bool(session.execute(statement, params).scalar_one())


def _replica(session: Session) -> bool:
    """Switch the per-row checks off for this transaction; False (and not asked again on this
    connection) when the right was revoked after `allowed` said yes."""
    try:
        with session.begin_nested():
            session.execute(text("SELECT set_config('session_replication_role', 'replica', true)"))
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) != INSUFFICIENT_PRIVILEGE:
            raise
        session.connection().info[_ALLOWED] = False
        return False
    return True


@contextmanager
def keys_checked_per_batch(
    session: Session, rows_by_table: dict[str, list[dict[str, Any]]]
) -> Iterator[bool]:
    """Write `rows_by_table` inside this block with their foreign keys checked per batch.

    Yields whether the per-row checks are off. On an error inside the block the transaction
    (or the caller's savepoint) is rolled back, which restores the setting with it.
    """
    per_batch = allowed(session) and _lock_all(session, wanted(rows_by_table)) and _replica(session)
    if not per_batch:
        yield False
        return
    yield True
    session.execute(text("SELECT set_config('session_replication_role', 'origin', true)"))
