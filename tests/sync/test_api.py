"""The batched upload of a phone coming back online, and evidence photos."""

from __future__ import annotations

import uuid

import pytest

from tests.builders import (
    TOWN_A,
    TOWN_B,
    VILLAGE_A1,
    VILLAGE_B1,
    event_body,
    hazard_body,
    inspection_body,
    login_as,
    make_region_tree,
    make_unit,
)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


@pytest.fixture
def world(client):
    make_region_tree()
    return {
        "unit": make_unit(VILLAGE_A1),
        "unit_b": make_unit(VILLAGE_B1),
        "inspector": login_as(client, "inspector", TOWN_A),
        "other": login_as(client, "township", TOWN_B),
    }


def test_batch_applies_in_order_with_a_result_per_item(client, world):
    hazard = hazard_body()
    good = inspection_body(world["unit"], hazards=[hazard])
    bad = inspection_body(world["unit"], hazards=[hazard_body(category="nonsense")])
    malformed = {"id": str(uuid.uuid4()), "unit_id": "not-a-uuid"}
    elsewhere = inspection_body(world["unit_b"])
    events = [
        {
            **event_body("start_rectification", "2026-10-02T09:00:00+08:00"),
            "hazard_id": hazard["id"],
        },
        {
            **event_body("submit_rectification", "2026-10-03T09:00:00+08:00"),
            "hazard_id": hazard["id"],
        },
        {
            **event_body("reject", "2026-10-01T09:00:00+08:00"),
            "hazard_id": hazard["id"],
        },  # too early
        {**event_body("verify", "2026-10-04T09:00:00+08:00"), "hazard_id": hazard["id"]},
        {
            **event_body("verify", "2026-10-05T09:00:00+08:00"),
            "hazard_id": hazard["id"],
        },  # closed already
    ]
    body = {"inspections": [good, bad, malformed, elsewhere], "events": events}
    r = client.post("/api/v1/sync", json=body, headers=world["inspector"])
    assert r.status_code == 200, r.text
    results = [(x["kind"], x["result"]) for x in r.json()["results"]]
    assert results == [
        ("inspection", "stored"),
        ("inspection", "refused"),
        ("inspection", "refused"),
        ("inspection", "refused"),
        ("event", "stored"),
        ("event", "stored"),
        ("event", "refused"),
        ("event", "stored"),
        ("event", "conflict"),
    ]
    assert r.json()["stored"] == 4 and r.json()["refused"] == 4 and r.json()["conflicts"] == 1
    detail = client.get(f"/api/v1/hazards/{hazard['id']}", headers=world["inspector"]).json()
    assert detail["status"] == "closed"
    assert [e["type"] for e in detail["events"]] == [
        "start_rectification",
        "submit_rectification",
        "verify",
    ]
    # Refused items stored nothing.
    assert (
        client.get(f"/api/v1/inspections/{bad['id']}", headers=world["inspector"]).status_code
        == 404
    )

    # The phone did not get the answer and sends it all again: nothing is stored twice.
    again = client.post("/api/v1/sync", json=body, headers=world["inspector"]).json()
    assert [x["result"] for x in again["results"]][:2] == ["already_stored", "refused"]
    assert again["stored"] == 0
    detail = client.get(f"/api/v1/hazards/{hazard['id']}", headers=world["inspector"]).json()
    assert len(detail["events"]) == 3


def test_batch_limit(client, world):
    body = {"inspections": [inspection_body(world["unit"]) for _ in range(501)]}
    r = client.post("/api/v1/sync", json=body, headers=world["inspector"])
    assert r.status_code == 422


def test_sync_refuses_unknown_top_level_fields(client, world):
    r = client.post(
        "/api/v1/sync", json={"inspections": [], "units": []}, headers=world["inspector"]
    )
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "units"]


def _hazard(client, world) -> str:
    hazard = hazard_body()
    body = inspection_body(world["unit"], hazards=[hazard])
    assert (
        client.post("/api/v1/inspections", json=body, headers=world["inspector"]).status_code == 201
    )
    return hazard["id"]


def test_photo_upload_is_checked_by_content_and_idempotent(client, world):
    hid = _hazard(client, world)
    pid = str(uuid.uuid4())
    url = f"/api/v1/hazards/{hid}/photos"
    files = {"file": ("../../etc/passwd.png", PNG, "image/png")}
    r = client.post(url, data={"id": pid}, files=files, headers=world["inspector"])
    assert r.status_code == 201, r.text
    assert r.json()["content_type"] == "image/png" and r.json()["size"] == len(PNG)
    assert (
        client.post(url, data={"id": pid}, files=files, headers=world["inspector"]).status_code
        == 200
    )
    other = {"file": ("x.jpg", JPEG, "image/jpeg")}
    assert (
        client.post(url, data={"id": pid}, files=other, headers=world["inspector"]).status_code
        == 409
    )
    got = client.get(f"{url}/{pid}", headers=world["inspector"])
    assert got.status_code == 200 and got.content == PNG
    # A file that claims to be an image but is not one.
    fake = {"file": ("a.jpg", b"MZ\x90\x00 not an image", "image/jpeg")}
    r = client.post(url, data={"id": str(uuid.uuid4())}, files=fake, headers=world["inspector"])
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "file"]
    # Another township's user cannot see the hazard, so cannot attach to it.
    r = client.post(url, data={"id": str(uuid.uuid4())}, files=files, headers=world["other"])
    assert r.status_code == 404


def test_photo_too_large(client, world, monkeypatch):
    from services.settings import get_settings

    monkeypatch.setattr(get_settings(), "photo_max_bytes", 100)
    hid = _hazard(client, world)
    big = {"file": ("big.jpg", JPEG + b"\x00" * 200, "image/jpeg")}
    r = client.post(
        f"/api/v1/hazards/{hid}/photos",
        data={"id": str(uuid.uuid4())},
        files=big,
        headers=world["inspector"],
    )
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "file"]


def test_a_photo_whose_file_is_lost_is_404_and_its_upload_again_restores_it(client, world):
    """Its record is in the database, its file on the API instance's disk: with the disk lost,
    or not shared between instances, the download was a 500 (found in review, session 14)."""
    from services.photos import default_storage

    hid = _hazard(client, world)
    pid = str(uuid.uuid4())
    url = f"/api/v1/hazards/{hid}/photos"
    files = {"file": ("a.png", PNG, "image/png")}
    assert (
        client.post(url, data={"id": pid}, files=files, headers=world["inspector"]).status_code
        == 201
    )
    storage = default_storage()
    key = f"{hid}/{pid}.png"
    storage._path(key).unlink()
    r = client.get(f"{url}/{pid}", headers=world["inspector"])
    assert r.status_code == 404 and "photo file" in r.text
    # The phone's retry of the same upload is a replay that puts the file back.
    r = client.post(url, data={"id": pid}, files=files, headers=world["inspector"])
    assert r.status_code == 200
    got = client.get(f"{url}/{pid}", headers=world["inspector"])
    assert got.status_code == 200 and got.content == PNG
