"""A write is answered only after its commit succeeded: a commit that fails is a 503, and
nothing is stored. PostgreSQL itself refuses the commit here, through a deferred constraint
trigger that fails at COMMIT (as a restart in the middle of a commit would)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from services.db import unit_of_work
from tests.builders import (
    TOWN_A,
    VILLAGE_A1,
    inspection_body,
    login_as,
    make_region_tree,
    make_unit,
)

FAIL_AT_COMMIT = """
CREATE FUNCTION test_fail_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'refused at commit' USING ERRCODE = '40001';
END $$;
CREATE CONSTRAINT TRIGGER test_fail_at_commit AFTER INSERT ON inspections
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (NEW.note = 'fail at commit') EXECUTE FUNCTION test_fail_at_commit();
"""


@pytest.fixture
def failing_commits(database):
    with unit_of_work() as s:
        s.execute(text(FAIL_AT_COMMIT))
    yield
    with unit_of_work() as s:
        s.execute(text("DROP TRIGGER test_fail_at_commit ON inspections"))
        s.execute(text("DROP FUNCTION test_fail_at_commit()"))


@pytest.mark.parametrize("path", ["route", "hot"])
def test_a_commit_that_fails_is_answered_503_and_stores_nothing(client, failing_commits, path):
    """On the route (a token this process sees first) and on the hot path (api/hot_writes.py,
    a known token), whose write commits by itself."""
    make_region_tree()
    headers = login_as(client, "inspector", TOWN_A)
    if path == "hot":
        warm = inspection_body(make_unit(VILLAGE_A1))
        assert client.post("/api/v1/inspections", json=warm, headers=headers).status_code == 201
    body = inspection_body(make_unit(VILLAGE_A1), note="fail at commit")

    r = client.post("/api/v1/inspections", json=body, headers=headers)
    assert r.status_code == 503, r.text
    assert r.headers["Retry-After"] == "1"
    assert client.get(f"/api/v1/inspections/{body['id']}", headers=headers).status_code == 404

    ok = inspection_body(make_unit(VILLAGE_A1), note="stored")
    assert client.post("/api/v1/inspections", json=ok, headers=headers).status_code == 201
