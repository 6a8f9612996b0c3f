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
