from __future__ import annotations

import uuid

from sqlalchemy import select

from services.models import AuditEntry
from tests.builders import COUNTY, TOWN_A, TOWN_B, VILLAGE_A1, login_as, make_region_tree

URL = "/api/v1/campaigns"


def body(**kw):
    out = {
        "name": "九小场所消防安全专项检查",
        "region_code": TOWN_A,
        "starts_on": "2026-03-01",
        "ends_on": "2026-04-30",
        "note": "重点查电动自行车停放充电",
    }
    out.update(kw)
    return out


def ids(client, headers, query=""):
    r = client.get(URL + query, headers=headers)
    assert r.status_code == 200, r.text
    return {c["id"] for c in r.json()["items"]}


def test_create_read_and_audit(client, session):
    make_region_tree()
    town = login_as(client, "township", TOWN_A)
    r = client.post(URL, json=body(), headers=town)
    assert r.status_code == 201, r.text
    campaign = r.json()
    assert campaign["name"] == "九小场所消防安全专项检查" and campaign["ends_on"] == "2026-04-30"
    got = client.get(f"{URL}/{campaign['id']}", headers=town)
    assert got.status_code == 200 and got.json() == campaign
    entry = session.scalar(select(AuditEntry).where(AuditEntry.entity == "campaign"))
    assert entry.entity_id == campaign["id"] and entry.action == "create"
    assert entry.changes["region_code"] == TOWN_A


def test_client_chosen_id_is_idempotent(client):
    make_region_tree()
    town = login_as(client, "township", TOWN_A)
    cid = str(uuid.uuid4())
    first = client.post(URL, json=body(id=cid), headers=town)
    assert first.status_code == 201
    again = client.post(URL, json=body(id=cid), headers=town)
    assert again.status_code == 200 and again.json() == first.json()
    assert (
        client.post(URL, json=body(id=cid, ends_on="2026-05-31"), headers=town).status_code == 409
    )
    assert ids(client, town) == {cid}


def test_bad_input_is_422_naming_the_field(client):
    make_region_tree()
    town = login_as(client, "township", TOWN_A)
    cases = [
        (body(ends_on="2026-02-28"), ["body", "ends_on"]),
        (body(region_code=TOWN_B), ["body", "region_code"]),
        (body(region_code="330102009000"), ["body", "region_code"]),
        (body(region_code="3301020010"), ["body", "region_code"]),
        (body(starts_on="2026-13-01"), ["body", "starts_on"]),
        (body(name=""), ["body", "name"]),
        (body(scope="all"), ["body", "scope"]),
    ]
    for payload, where in cases:
        r = client.post(URL, json=payload, headers=town)
        assert r.status_code == 422, (payload, r.text)
        assert r.json()["detail"][0]["loc"] == where
    # A one-day campaign is fine.
    assert client.post(URL, json=body(ends_on="2026-03-01"), headers=town).status_code == 201


def test_roles(client):
    make_region_tree()
    county = login_as(client, "county", COUNTY)
    assert client.post(URL, json=body(region_code=COUNTY), headers=county).status_code == 201
    inspector = login_as(client, "inspector", TOWN_A)
    assert client.post(URL, json=body(), headers=inspector).status_code == 403


def test_scoping_and_listing(client):
    make_region_tree()
    county = login_as(client, "county", COUNTY)
    town_a = login_as(client, "township", TOWN_A)
    town_b = login_as(client, "township", TOWN_B)
    inspector_a = login_as(client, "inspector", TOWN_A)
    whole = client.post(
        URL, json=body(region_code=COUNTY, name="节前安全生产大检查"), headers=county
    )
    in_a = client.post(URL, json=body(name="东镇汛期安全检查"), headers=town_a)
    in_b = client.post(URL, json=body(region_code=TOWN_B, name="西镇专项"), headers=town_b)
    whole, in_a, in_b = whole.json()["id"], in_a.json()["id"], in_b.json()["id"]

    assert ids(client, county) == {whole, in_a, in_b}
    # A township sees its own campaigns and the county's, whose inspections it may carry out.
    assert ids(client, town_a) == {whole, in_a}
    assert ids(client, inspector_a) == {whole, in_a}
    assert ids(client, county, f"?region={TOWN_B}") == {whole, in_b}
    assert ids(client, town_a, f"?region={VILLAGE_A1}") == {whole, in_a}
    assert client.get(f"{URL}/{in_b}", headers=town_a).status_code == 404
    assert client.get(f"{URL}/{whole}", headers=town_a).status_code == 200
    assert client.get(f"{URL}/{uuid.uuid4()}", headers=county).status_code == 404
    assert client.get(f"{URL}?region={TOWN_B}", headers=town_a).status_code == 404
    r = client.get(f"{URL}?limit=501", headers=county)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "limit"]

    first = client.get(f"{URL}?limit=2", headers=county).json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    rest = client.get(f"{URL}?limit=2&cursor={first['next_cursor']}", headers=county).json()
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    assert {c["id"] for c in first["items"] + rest["items"]} == {whole, in_a, in_b}

    running = ids(client, county, "?active_on=2026-04-15")
    assert running == {whole, in_a, in_b}
    assert ids(client, county, "?active_on=2026-05-01") == set()
