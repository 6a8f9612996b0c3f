from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

from sqlalchemy import select

from services.models import AuditEntry, MetricMark, Unit, UnitStatusChange
from services.periods import add_months, local_month
from services.settings import get_settings
from tests.builders import (
    COUNTY,
    TOWN_A,
    TOWN_B,
    VILLAGE_A1,
    VILLAGE_B1,
    login_as,
    make_region_tree,
    make_unit,
)
from tests.units.codes import code, wrong_check

URL = "/api/v1/units"


def body(**kw):
    out = {
        "name": "东一村五金加工厂",
        "region_code": VILLAGE_A1,
        "kind": "enterprise",
        "industry": "金属制品",
        "credit_code": code(1),
        "address": "东一村工业路 8 号",
        "key_supervision": True,
        "reporting_required": True,
        "status": "operating",
        "operating_since": "2020-03-01",
    }
    out.update(kw)
    return out


def loc(response):
    return response.json()["detail"][0]["loc"]


def local_today() -> date:
    return datetime.now(get_settings().tz).date()


def marked_months(session, region: str) -> set[date]:
    rows = session.scalars(select(MetricMark.month).where(MetricMark.region_code == region))
    return set(rows)


def test_create_and_read_a_unit(client, session):
    make_region_tree()
    town = login_as(client, "township", TOWN_A)
    r = client.post(URL, json=body(), headers=town)
    assert r.status_code == 201, r.text
    unit = r.json()
    assert unit["name"] == "东一村五金加工厂" and unit["credit_code"] == code(1)
    assert unit["status"] == "operating" and unit["closed_on"] is None
    assert unit["operating_since"] == "2020-03-01"

    got = client.get(f"{URL}/{unit['id']}", headers=town)
    assert got.status_code == 200 and got.json() == unit

    entry = session.scalar(select(AuditEntry).where(AuditEntry.entity_id == unit["id"]))
    assert entry.entity == "unit" and entry.action == "create"
    assert entry.changes["credit_code"] == code(1) and entry.actor_username.startswith("township")
    history = session.scalars(
        select(UnitStatusChange).where(UnitStatusChange.unit_id == unit["id"])
    )
    assert [h.status for h in history] == ["operating"]
    # The new unit is on the roster from March 2020: those months' figures are recomputed.
    months = marked_months(session, VILLAGE_A1)
    assert date(2020, 3, 1) in months and date(2020, 2, 1) not in months
    assert local_month(datetime.now(get_settings().tz), get_settings().tz) in months


def test_client_chosen_id_is_idempotent(client):
    make_region_tree()
    town = login_as(client, "township", TOWN_A)
    uid = str(uuid.uuid4())
    first = client.post(URL, json=body(id=uid), headers=town)
    assert first.status_code == 201 and first.json()["id"] == uid
    # The same body in another field order replays the stored record.
    again = client.post(URL, json=dict(reversed(list(body(id=uid).items()))), headers=town)
    assert again.status_code == 200 and again.json() == first.json()
    other = client.post(URL, json=body(id=uid, name="另一个名字"), headers=town)
    assert other.status_code == 409
    # Without an id, a second create with the same credit code is a duplicate: 409.
    assert client.post(URL, json=body(), headers=town).status_code == 409
    listed = client.get(URL, headers=town).json()["items"]
    assert [u["id"] for u in listed] == [uid]


def test_bad_input_is_422_naming_the_field(client):
    make_region_tree()
    town = login_as(client, "township", TOWN_A)
    cases = [
        (body(credit_code=wrong_check(code(1))), ["body", "credit_code"]),
        (body(credit_code="91350100M000100Y4"), ["body", "credit_code"]),
        (body(kind="spaceport"), ["body", "kind"]),
        (body(region_code="330102009009"), ["body", "region_code"]),  # unknown
        (body(region_code=VILLAGE_B1), ["body", "region_code"]),  # another township's
        (body(region_code="33010200100"), ["body", "region_code"]),  # 11 digits
        (body(status="demolished"), ["body", "status"]),
        (body(operating_since="2020-02-30"), ["body", "operating_since"]),
        (body(colour="red"), ["body", "colour"]),
        ({k: v for k, v in body().items() if k != "name"}, ["body", "name"]),
        (body(operating_since=str(local_today() + timedelta(days=3))), ["body", "operating_since"]),
    ]
    for payload, where in cases:
        r = client.post(URL, json=payload, headers=town)
        assert r.status_code == 422, (payload, r.text)
        assert loc(r) == where, (payload, r.json())
    assert client.get(URL, headers=town).json()["items"] == []


def test_roles_that_may_not_create_units(client):
    make_region_tree()
    inspector = login_as(client, "inspector", TOWN_A)
    assert client.post(URL, json=body(), headers=inspector).status_code == 403
    county = login_as(client, "county", COUNTY)
    assert client.post(URL, json=body(region_code=VILLAGE_B1), headers=county).status_code == 201


def test_a_unit_created_closed_gets_a_closing_date(client):
    make_region_tree()
    town = login_as(client, "township", TOWN_A)
    r = client.post(URL, json=body(credit_code=None, status="closed"), headers=town)
    assert r.status_code == 201 and r.json()["closed_on"] == str(local_today())
    r = client.post(
        URL,
        json=body(credit_code=None, name="关停门店", status="closed", status_since="2024-05-06"),
        headers=town,
    )
    assert r.status_code == 201
    assert r.json()["closed_on"] == "2024-05-06" and r.json()["status_since"] == "2024-05-06"


def test_patch_status_keeps_history_audit_and_marks_months(client, session):
    make_region_tree()
    town = login_as(client, "township", TOWN_A)
    uid = client.post(URL, json=body(operating_since=None), headers=town).json()["id"]
    session.execute(MetricMark.__table__.delete())
    session.commit()

    # A change of status without the date it took effect is refused and changes nothing.
    r = client.patch(f"{URL}/{uid}", json={"status": "closed"}, headers=town)
    assert r.status_code == 422 and loc(r) == ["body", "status_since"]
    assert client.get(f"{URL}/{uid}", headers=town).json()["status"] == "operating"

    since = add_months(local_month(datetime.now(get_settings().tz), get_settings().tz), -2)
    r = client.patch(
        f"{URL}/{uid}",
        json={"status": "closed", "status_since": str(since), "industry": "五金"},
        headers=town,
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "closed" and r.json()["closed_on"] == str(since)
    assert r.json()["industry"] == "五金"
    assert marked_months(session, VILLAGE_A1) == {since, add_months(since, 1), add_months(since, 2)}

    # A retry of the same PATCH changes nothing and is fine.
    again = client.patch(
        f"{URL}/{uid}", json={"status": "closed", "status_since": str(since)}, headers=town
    )
    assert again.status_code == 200 and again.json()["closed_on"] == str(since)
    # Reopening clears the closing date; a date before the closure is refused.
    early = since - timedelta(days=1)
    r = client.patch(
        f"{URL}/{uid}", json={"status": "operating", "status_since": str(early)}, headers=town
    )
    assert r.status_code == 422 and loc(r) == ["body", "status_since"]
    r = client.patch(
        f"{URL}/{uid}",
        json={"status": "suspended", "status_since": str(local_today())},
        headers=town,
    )
    assert r.status_code == 200 and r.json()["closed_on"] is None
    assert r.json()["status"] == "suspended"

    history = session.scalars(
        select(UnitStatusChange.status)
        .where(UnitStatusChange.unit_id == uuid.UUID(uid))
        .order_by(UnitStatusChange.recorded_at)
    ).all()
    assert history == ["operating", "closed", "suspended"]
    updates = session.scalars(
        select(AuditEntry)
        .where(AuditEntry.entity_id == uid, AuditEntry.action == "update")
        .order_by(AuditEntry.id)
    ).all()
    assert len(updates) == 2  # the no-op retry wrote nothing
    assert updates[0].changes["status"] == ["operating", "closed"]
    assert updates[0].changes["industry"] == ["金属制品", "五金"]
    assert updates[1].changes["status"] == ["closed", "suspended"]


def test_patch_bad_input(client):
    make_region_tree()
    town = login_as(client, "township", TOWN_A)
    uid = client.post(URL, json=body(), headers=town).json()["id"]
    other = client.post(URL, json=body(credit_code=code(2), name="另一家"), headers=town).json()
    cases = [
        ({"credit_code": wrong_check(code(3))}, 422, ["body", "credit_code"]),
        ({"kind": "spaceport"}, 422, ["body", "kind"]),
        ({"name": None}, 422, ["body", "name"]),
        ({"region_code": VILLAGE_A1}, 422, ["body", "region_code"]),  # not editable here
        ({"status_since": "2024-01-01"}, 422, ["body", "status_since"]),  # no status change
    ]
    for payload, status, where in cases:
        r = client.patch(f"{URL}/{uid}", json=payload, headers=town)
        assert r.status_code == status, (payload, r.text)
        assert loc(r) == where
    r = client.patch(f"{URL}/{uid}", json={"credit_code": other["credit_code"]}, headers=town)
    assert r.status_code == 409
    inspector = login_as(client, "inspector", TOWN_A)
    assert client.patch(f"{URL}/{uid}", json={"name": "x"}, headers=inspector).status_code == 403
    closed = client.post(
        URL,
        json=body(credit_code=None, name="已关", status="closed", status_since="2024-01-31"),
        headers=town,
    ).json()
    r = client.patch(f"{URL}/{closed['id']}", json={"operating_since": "2024-02-01"}, headers=town)
    assert r.status_code == 422 and loc(r) == ["body", "operating_since"]
    # Clearing the credit code frees it for another unit.
    r = client.patch(f"{URL}/{uid}", json={"credit_code": None}, headers=town)
    assert r.status_code == 200 and r.json()["credit_code"] is None


def test_region_matrix(client):
    make_region_tree()
    in_a = make_unit(VILLAGE_A1, name="东镇单位")
    in_b = make_unit(VILLAGE_B1, name="西镇单位")
    town_a = login_as(client, "township", TOWN_A)
    town_b = login_as(client, "township", TOWN_B)
    county = login_as(client, "county", COUNTY)
    unit_a = login_as(client, "unit", VILLAGE_A1, unit_id=in_a)
    inspector_b = login_as(client, "inspector", TOWN_B)

    assert client.get(f"{URL}/{in_b}", headers=town_a).status_code == 404
    assert client.patch(f"{URL}/{in_b}", json={"name": "改"}, headers=town_a).status_code == 404
    assert client.get(f"{URL}/{in_a}", headers=town_b).status_code == 404
    assert client.get(f"{URL}/{in_b}", headers=inspector_b).status_code == 200
    assert client.get(f"{URL}/{uuid.uuid4()}", headers=county).status_code == 404
    for uid in (in_a, in_b):
        assert client.get(f"{URL}/{uid}", headers=county).status_code == 200
    assert client.patch(f"{URL}/{in_b}", json={"name": "改名"}, headers=county).status_code == 200

    assert client.get(f"{URL}/{in_a}", headers=unit_a).status_code == 200
    assert client.get(f"{URL}/{in_b}", headers=unit_a).status_code == 404
    sibling = make_unit(VILLAGE_A1, name="同村另一家")
    assert client.get(f"{URL}/{sibling}", headers=unit_a).status_code == 404
    assert client.patch(f"{URL}/{in_a}", json={"name": "x"}, headers=unit_a).status_code == 403
    listed = client.get(URL, headers=unit_a).json()["items"]
    assert [u["id"] for u in listed] == [str(in_a)]

    ids = lambda h, q="": {u["id"] for u in client.get(URL + q, headers=h).json()["items"]}  # noqa: E731
    assert ids(town_a) == {str(in_a), str(sibling)}
    assert ids(county) == {str(in_a), str(in_b), str(sibling)}
    assert ids(county, f"?region={TOWN_B}") == {str(in_b)}
    assert client.get(f"{URL}?region={TOWN_B}", headers=town_a).status_code == 404
    assert client.get(f"{URL}?region=330102009000", headers=county).status_code == 404


def test_list_filters_and_pages(client):
    make_region_tree()
    county = login_as(client, "county", COUNTY)
    made = {make_unit(VILLAGE_A1, kind="shop") for _ in range(4)}
    school = make_unit(VILLAGE_B1, kind="school")
    closed = make_unit(VILLAGE_B1, status="closed", closed_on=date(2024, 1, 1))

    seen, cursor = [], None
    while True:
        q = f"{URL}?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(q, headers=county).json()
        assert len(page["items"]) <= 2
        seen += [u["id"] for u in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 6
    assert set(seen) == {str(u) for u in made | {school, closed}}

    kinds = client.get(f"{URL}?kind=school", headers=county).json()["items"]
    assert [u["id"] for u in kinds] == [str(school)]
    shut = client.get(f"{URL}?status=closed", headers=county).json()["items"]
    assert [u["id"] for u in shut] == [str(closed)]

    assert client.get(f"{URL}?limit=501", headers=county).status_code == 422
    assert loc(client.get(f"{URL}?limit=501", headers=county)) == ["query", "limit"]
    assert loc(client.get(f"{URL}?region=3301", headers=county)) == ["query", "region"]
    assert loc(client.get(f"{URL}?status=gone", headers=county)) == ["query", "status"]
    assert loc(client.get(f"{URL}?cursor=nonsense", headers=county)) == ["query", "cursor"]


def test_unit_row_matches_its_table(session, client):
    """The API writes the closed_on invariant the table's check constraint demands."""
    make_region_tree()
    town = login_as(client, "township", TOWN_A)
    uid = client.post(URL, json=body(status="suspended", status_since="2025-01-02"), headers=town)
    stored = session.get(Unit, uuid.UUID(uid.json()["id"]))
    assert stored.status == "suspended" and stored.closed_on is None
    assert stored.status_since == date(2025, 1, 2)


def test_openapi_documents_the_routes(client):
    spec = client.get("/openapi.json").json()
    post = spec["paths"]["/api/v1/units"]["post"]
    assert {"200", "201", "409", "422"} <= set(post["responses"])
    for path, method in [
        ("/api/v1/units/{unit_id}", "get"),
        ("/api/v1/units/{unit_id}", "patch"),
        ("/api/v1/campaigns/{campaign_id}", "get"),
    ]:
        responses = spec["paths"][path][method]["responses"]
        assert {"200", "404", "422"} <= set(responses), (path, method)
    upload = spec["paths"]["/api/v1/units/import"]["post"]
    assert "multipart/form-data" in upload["requestBody"]["content"]
    assert "ImportReport" in str(upload["responses"]["200"])
