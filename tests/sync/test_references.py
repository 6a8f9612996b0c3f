"""The batched upload's foreign keys, checked once per batch (services/references.py): the same
refusals and the same locks as PostgreSQL's per-row checks."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.schemas.hazards import InspectionCreate
from services import inspections as inspection_service
from services import references
from services.actors import Actor
from services.db import array_literal, sqlalchemy_url
from tests.builders import (
    TOWN_A,
    VILLAGE_A1,
    hazard_body,
    inspection_body,
    make_region_tree,
    make_unit,
)

INSPECTOR = Actor(user_id=None, username="i", role="inspector", region_code=TOWN_A)
BATCH = 20  # inspections of two hazards each: above COPY_FROM_ROWS, the COPY path


@pytest.fixture
def units():
    make_region_tree()
    return [make_unit(VILLAGE_A1), make_unit(VILLAGE_A1)]


def checked(session: Session, units: list[uuid.UUID], n: int = BATCH):
    """`n` new inspections that passed every check, as the batched upload writes them."""
    items = [
        InspectionCreate.model_validate(
            inspection_body(units[i % len(units)], hazards=[hazard_body(), hazard_body()])
        ).model_dump()
        for i in range(n)
    ]
    known = inspection_service.load_known(session, items)
    new = [inspection_service.check_inspection(INSPECTOR, d, known, loc=[]) for d in items]
    return new


def dangle_unit(new) -> uuid.UUID:
    """Point the last inspection and its hazards at a unit that does not exist."""
    ghost = uuid.uuid4()
    new[-1].row["unit_id"] = ghost
    for h in new[-1].hazards:
        h["unit_id"] = ghost
    return ghost


def count(session: Session, table: str) -> int:
    return session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()


def test_references_come_from_the_declared_keys_less_the_batch_itself(session, units):
    new = checked(session, units, n=2)
    wanted = {f"{c.table.name}.{c.name}": v for c, v in references.wanted(rows_of(new)).items()}
    assert wanted == {
        "units.id": set(units),
        "regions.code": {VILLAGE_A1},
        "hazard_categories.code": {"exits"},
    }  # the hazards' inspections are in the batch; no campaign, no self-report


def rows_of(new) -> dict[str, list[dict]]:
    return {"inspections": [n.row for n in new], "hazards": [h for n in new for h in n.hazards]}


def test_per_row_checks_are_off_only_inside_the_block_and_only_when_all_rows_exist(session, units):
    new = checked(session, units, n=2)
    with references.keys_checked_per_batch(session, rows_of(new)) as per_batch:
        assert per_batch
        assert session.execute(text("SHOW session_replication_role")).scalar_one() == "replica"
    assert session.execute(text("SHOW session_replication_role")).scalar_one() == "origin"
    dangle_unit(new)
    with references.keys_checked_per_batch(session, rows_of(new)) as per_batch:
        assert not per_batch
        assert session.execute(text("SHOW session_replication_role")).scalar_one() == "origin"


def test_a_batch_is_written_with_its_keys_checked_per_batch(session, units):
    assert references.allowed(session)  # the suite's role may (a superuser)
    new = checked(session, units)
    assert 3 * BATCH > inspection_service.COPY_FROM_ROWS
    inspection_service.write_inspections(session, new)
    assert count(session, "inspections") == BATCH
    assert count(session, "hazards") == 2 * BATCH
    # Back to per-row checks for whatever else the transaction writes.
    assert session.execute(text("SHOW session_replication_role")).scalar_one() == "origin"


def test_a_missing_reference_is_refused_as_by_the_foreign_key(session, units):
    new = checked(session, units)
    ghost = dangle_unit(new)
    with pytest.raises(IntegrityError, match="fk_inspections_unit_id_units"):
        inspection_service.write_inspections(session, new)
    session.rollback()
    assert count(session, "inspections") == 0
    assert str(ghost) not in {str(u) for u in session.execute(text("SELECT id FROM units"))}


def test_referenced_rows_stay_locked_until_the_batch_commits(session, units, database):
    """A unit deleted by another transaction while the batch is uncommitted would leave its
    rows dangling once the batch commits: the per-row check's lock (FOR KEY SHARE) stops that
    delete, and the per-batch check must take the same lock."""
    new = checked(session, units)
    inspection_service.write_inspections(session, new)  # not committed yet
    with psycopg.connect(database, autocommit=True) as other:
        other.execute("SET lock_timeout = '300ms'")
        with pytest.raises(psycopg.errors.LockNotAvailable):
            other.execute("DELETE FROM units WHERE id = %s", (units[0],))
    session.commit()
    with psycopg.connect(database, autocommit=True) as other:  # and afterwards, the key refuses
        with pytest.raises(psycopg.errors.ForeignKeyViolation):
            other.execute("DELETE FROM units WHERE id = %s", (units[0],))


@pytest.fixture
def plain_role_session(database):
    """A session as a role that is not a superuser and has no right to set
    session_replication_role: the rows then take PostgreSQL's per-row checks."""
    name = f"hazardtrack_plain_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(database, autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {name} LOGIN")
        admin.execute(f"GRANT USAGE ON SCHEMA public TO {name}")
        admin.execute(f"GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA public TO {name}")
        admin.execute(f"GRANT UPDATE ON ALL TABLES IN SCHEMA public TO {name}")
        admin.execute(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {name}")
    engine = create_engine(make_url(sqlalchemy_url(database)).set(username=name, password=None))
    s = Session(engine)
    try:
        yield s
    finally:
        s.rollback()
        s.close()
        engine.dispose()
        with psycopg.connect(database, autocommit=True) as admin:
            admin.execute(f"DROP OWNED BY {name}")
            admin.execute(f"DROP ROLE {name}")


def test_without_the_right_the_keys_are_checked_per_row(plain_role_session, units):
    s = plain_role_session
    assert references.may_skip_row_checks(s.connection()) is False
    assert not references.allowed(s)
    new = checked(s, units)
    inspection_service.write_inspections(s, new)
    assert count(s, "hazards") == 2 * BATCH
    s.rollback()
    new = checked(s, units)
    dangle_unit(new)
    with pytest.raises(IntegrityError, match="fk_inspections_unit_id_units"):
        inspection_service.write_inspections(s, new)


def test_the_tables_written_so_have_no_triggers_of_their_own(session):
    """Replica mode skips every ordinary trigger, not only the keys' checks: a trigger added
    to these tables would go unfired by the batched upload, so it must be decided here."""
    triggers = session.execute(
        text(
            "SELECT tgrelid::regclass::text, tgname FROM pg_trigger WHERE NOT tgisinternal "
            "AND tgrelid IN ('inspections'::regclass, 'hazards'::regclass)"
        )
    ).all()
    assert triggers == []


def test_key_values_reach_postgresql_as_they_are(session):
    values = {"plain", 'with "quotes"', "back\\slash", "逗号,分隔", "{braces}", " spaced "}
    sent = array_literal(values)
    back = session.execute(text("SELECT CAST(:v AS text[])"), {"v": sent}).scalar_one()
    assert set(back) == values
    ids = {uuid.uuid4() for _ in range(3)}
    back = session.execute(text("SELECT CAST(:v AS uuid[])"), {"v": array_literal(ids)})
    assert set(back.scalar_one()) == ids


def test_a_right_revoked_after_it_was_asked_falls_back_to_per_row_checks(plain_role_session, units):
    s = plain_role_session
    s.connection().info[references._ALLOWED] = True  # as if it had been granted, then revoked
    new = checked(s, units)
    inspection_service.write_inspections(s, new)
    assert count(s, "hazards") == 2 * BATCH
    assert s.connection().info[references._ALLOWED] is False
    assert s.execute(text("SHOW session_replication_role")).scalar_one() == "origin"
