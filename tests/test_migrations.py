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
