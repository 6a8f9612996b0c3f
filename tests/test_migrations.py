"""The schema comes from the migrations; they must agree with the models and go down again."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, pool

import migrations
from services.db import sqlalchemy_url
from services.models import Base
from tests import dbserver
from tests.conftest import _SERVER


def test_models_and_migrations_agree(database):
    engine = create_engine(sqlalchemy_url(database), poolclass=pool.NullPool)
    with engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata
        )
    engine.dispose()
    assert diff == []


def test_migrations_downgrade_to_base_and_upgrade_again():
    name = "hazardtrack_migration_check"
    url = dbserver.create_database(_SERVER, name)
    try:
        migrations.upgrade(url)
        migrations.downgrade(url, "base")
        migrations.upgrade(url)
    finally:
        dbserver.drop_database(_SERVER, name)


def test_0007_turns_a_stored_json_null_plan_into_sql_null():
    """Hazards stored through the ORM before 0007 hold the JSON value null as their plan."""
    from sqlalchemy import text

    name = "hazardtrack_migration_0007"
    url = dbserver.create_database(_SERVER, name)
    engine = create_engine(sqlalchemy_url(url), poolclass=pool.NullPool)
    try:
        migrations.upgrade(url, "0006")
        with engine.begin() as conn:
            conn.execute(text("SET LOCAL session_replication_role = replica"))  # no parent rows
            for plan in ("'null'::jsonb", '\'{"goal": "x"}\'::jsonb', "NULL"):
                conn.execute(
                    text(
                        "INSERT INTO hazards (id, unit_id, region_code, source, level, category,"
                        " description, handling, found_at, found_month, status, request_hash,"
                        f" governance_plan) VALUES (gen_random_uuid(), gen_random_uuid(), '1',"
                        " 'inspection', 'major', 'fire', 'x', 'on_the_spot', now(), '2026-12-01',"
                        f" 'closed', 'h', {plan})"
                    )
                )
        migrations.upgrade(url)
        with engine.connect() as conn:
            plans = conn.execute(
                text("SELECT governance_plan FROM hazards ORDER BY governance_plan IS NULL")
            ).scalars()
            assert list(plans) == [{"goal": "x"}, None, None]
            assert (
                conn.execute(
                    text("SELECT count(*) FROM hazards WHERE governance_plan IS NULL")
                ).scalar_one()
                == 2
            )
    finally:
        engine.dispose()
        dbserver.drop_database(_SERVER, name)


def test_0008_takes_a_reopened_units_closed_spans_from_its_status_history():
    """A unit closed and reopened before 0008 gets the span it was closed; others get none."""
    from sqlalchemy import text

    name = "hazardtrack_migration_0008"
    url = dbserver.create_database(_SERVER, name)
    engine = create_engine(sqlalchemy_url(url), poolclass=pool.NullPool)
    history = {  # unit: its status changes in order (status, since)
        "reopened twice": [
            ("operating", None),
            ("closed", "2025-03-10"),
            ("operating", "2025-09-01"),
            ("closed", "2026-01-05"),
            ("suspended", "2026-04-01"),
        ],
        "closed now": [("operating", None), ("closed", "2026-02-01")],
        "never closed": [("operating", "2024-01-01")],
    }
    try:
        migrations.upgrade(url, "0007")
        with engine.begin() as conn:
            conn.execute(text("SET LOCAL session_replication_role = replica"))  # no parent rows
            for unit, changes in history.items():
                status, since = changes[-1]
                closed_on = f"'{since}'" if status == "closed" else "NULL"
                conn.execute(
                    text(
                        "INSERT INTO units (id, name, region_code, kind, key_supervision,"
                        " reporting_required, status, closed_on) VALUES (md5(:u)::uuid, :u, '1',"
                        f" 'shop', false, true, '{status}', {closed_on})"
                    ),
                    {"u": unit},
                )
                for i, (status, since) in enumerate(changes):
                    conn.execute(
                        text(
                            "INSERT INTO unit_status_changes (id, unit_id, status, since,"
                            " recorded_at) VALUES (gen_random_uuid(), md5(:u)::uuid, :s,"
                            " CAST(:d AS date), now() + make_interval(secs => :i))"
                        ),
                        {"u": unit, "s": status, "d": since, "i": i},
                    )
        migrations.upgrade(url)
        with engine.connect() as conn:
            gaps = dict(
                conn.execute(text("SELECT name, closed_gaps::text FROM units")).tuples().all()
            )
        assert gaps == {
            "reopened twice": "{[2025-03-10,2025-09-01),[2026-01-05,2026-04-01)}",
            "closed now": None,
            "never closed": None,
        }
    finally:
        engine.dispose()
        dbserver.drop_database(_SERVER, name)
