"""Admission to the database: a request that waits too long for its turn gets a quick 503
it can retry, and every admitted request gives its turn back however it ends."""

from __future__ import annotations

import anyio
import pytest

from api import deps
from services.db import WRITE_POOL_MAX
from services.settings import get_settings
from tests.builders import (
    TOWN_A,
    VILLAGE_A1,
    hazard_body,
    inspection_body,
    login_as,
    make_region_tree,
    make_unit,
)


@pytest.fixture
def world(client):
    make_region_tree()
    return {"unit": make_unit(VILLAGE_A1), "inspector": login_as(client, "inspector", TOWN_A)}


def test_a_request_without_a_turn_gets_503_and_its_retry_is_stored_once(client, world, monkeypatch):
    body = inspection_body(world["unit"], hazards=[hazard_body()])
    headers = world["inspector"]
    monkeypatch.setattr(get_settings(), "admission_wait_seconds", 0.05)
    monkeypatch.setattr(deps, "_admitted", anyio.Semaphore(0))  # every turn is taken

    r = client.post("/api/v1/inspections", json=body, headers=headers)
    assert r.status_code == 503
    assert r.json() == {"detail": "the service is busy, retry"}
    assert r.headers["Retry-After"] == "1"

    monkeypatch.setattr(deps, "_admitted", None)  # the load has passed
    assert client.get(f"/api/v1/inspections/{body['id']}", headers=headers).status_code == 404
    r = client.post("/api/v1/inspections", json=body, headers=headers)
    assert r.status_code == 201, r.text
    again = client.post("/api/v1/inspections", json=body, headers=headers)
    assert again.status_code in (200, 201)
    assert again.json()["hazards"][0]["id"] == r.json()["hazards"][0]["id"]


def test_every_admitted_request_gives_its_turn_back(client, world, monkeypatch):
    monkeypatch.setattr(deps, "_admitted", None)
    headers = world["inspector"]
    ok = client.post("/api/v1/inspections", json=inspection_body(world["unit"]), headers=headers)
    assert ok.status_code == 201
    missing = client.get(
        "/api/v1/inspections/00000000-0000-0000-0000-000000000000", headers=headers
    )
    assert missing.status_code == 404
    invalid = client.post("/api/v1/inspections", json={"unit_id": "x"}, headers=headers)
    assert invalid.status_code == 422
    assert deps._admission().value == WRITE_POOL_MAX
