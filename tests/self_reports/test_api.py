"""Quarterly self-reports over HTTP, and filing times at the service level."""

from __future__ import annotations

import threading
import uuid
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from services import self_reports
from services.actors import Actor
from services.db import new_session
from services.errors import Invalid
from services.models import AuditEntry, SelfReportVersion
from services.periods import period_of
from tests.builders import (
    COUNTY,
    TOWN_A,
    TOWN_B,
    VILLAGE_A1,
    VILLAGE_A2,
    VILLAGE_B1,
    hazard_body,
    login_as,
    make_region_tree,
    make_unit,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
PAST = "2026Q3"  # ended, and its deadline (15 October 2026) has passed


def url(unit_id, quarter: str = PAST) -> str:
    return f"/api/v1/units/{unit_id}/self-reports/{quarter}"


def found(found_at: str = "2026-08-10T09:00:00+08:00", **extra) -> dict:
    return {**hazard_body(**extra), "found_at": found_at}


def locs(response) -> list[str]:
    return [".".join(str(p) for p in d["loc"]) for d in response.json()["detail"]]


@pytest.fixture
def world(client):
    make_region_tree()
    unit = make_unit(VILLAGE_A1, name="东一村五金店")
    return {
        "unit": unit,
        "unit_b": make_unit(VILLAGE_B1),
        "unit_user": login_as(client, "unit", VILLAGE_A1, unit_id=unit),
        "inspector": login_as(client, "inspector", TOWN_A),
        "township": login_as(client, "township", TOWN_A),
        "county": login_as(client, "county", COUNTY),
        "other_town": login_as(client, "township", TOWN_B),
    }


def test_unit_files_its_own_report(client, world):
    r = client.put(url(world["unit"]), json={"zero_hazard": True}, headers=world["unit_user"])
    assert r.status_code == 201, r.text
    report = r.json()
    assert report["filed_by_unit"] is True
    assert report["zero_hazard"] is True and report["version"] == 1
    assert report["quarter"] == PAST and report["region_code"] == VILLAGE_A1
    assert report["on_time"] is False  # filed today, after 15 October
    assert report["deadline"].startswith("2026-10-15T23:59:59.999999+08:00")
    [v1] = report["versions"]
    assert v1["by_unit"] is True and v1["zero_hazard"] is True and v1["hazard_ids"] == []
    assert report["hazards"] == []
    fetched = client.get(url(world["unit"]), headers=world["unit_user"])
    assert fetched.status_code == 200 and fetched.json() == report
    assert client.get(url(world["unit"]), headers=world["county"]).status_code == 200


def test_staff_files_on_behalf_of_the_unit(client, world):
    hazard = found()
    body = {"zero_hazard": False, "hazards": [hazard]}
    r = client.put(url(world["unit"]), json=body, headers=world["inspector"])
    assert r.status_code == 201, r.text
    report = r.json()
    assert report["filed_by_unit"] is False and report["versions"][0]["by_unit"] is False
    assert report["zero_hazard"] is False
    assert [h["id"] for h in report["hazards"]] == [hazard["id"]]
    assert report["versions"][0]["hazard_ids"] == [hazard["id"]]
    h = report["hazards"][0]
    assert h["source"] == "self_report" and h["self_report_id"] == report["id"]
    assert h["period"] == PAST and h["description"] == "安全出口被货物堵塞"


def test_amendment_makes_version_2_first_decides_who_latest_decides_zero(client, world):
    first = client.put(url(world["unit"]), json={"zero_hazard": True}, headers=world["unit_user"])
    assert first.status_code == 201
    body = {"zero_hazard": False, "hazards": [found()]}
    second = client.put(url(world["unit"]), json=body, headers=world["township"])
    assert second.status_code == 200, second.text
    report = second.json()
    assert report["version"] == 2 and report["zero_hazard"] is False
    assert report["filed_by_unit"] is True  # version 1 was the unit's own
    assert report["first_filed_at"] == first.json()["first_filed_at"]
    assert report["id"] == first.json()["id"]
    assert [(v["version"], v["by_unit"], v["zero_hazard"]) for v in report["versions"]] == [
        (1, True, True),
        (2, False, False),
    ]
    assert len(report["hazards"]) == 1
    # And back to zero: the latest version decides again.
    third = client.put(url(world["unit"]), json={"zero_hazard": True}, headers=world["unit_user"])
    assert third.status_code == 200
    assert third.json()["version"] == 3 and third.json()["zero_hazard"] is True
    assert third.json()["hazards"] == []


def test_filing_the_same_content_again_is_a_replay(client, world, session):
    hazards = [found(), found("2026-09-01T10:00:00+08:00", category="e_bike")]
    body = {"zero_hazard": False, "hazards": hazards}
    first = client.put(url(world["unit"]), json=body, headers=world["unit_user"])
    assert first.status_code == 201
    # Same content, hazards listed in another order: still the same report.
    again = {"zero_hazard": False, "hazards": list(reversed(hazards))}
    replay = client.put(url(world["unit"]), json=again, headers=world["unit_user"])
    assert replay.status_code == 200, replay.text
    assert replay.json() == first.json()
    assert session.query(SelfReportVersion).count() == 1
    audits = session.query(AuditEntry).filter(AuditEntry.entity == "self_report").count()
    assert audits == 1
    listed = client.get("/api/v1/hazards", headers=world["township"]).json()["items"]
    assert len(listed) == 2


def test_a_reused_hazard_id_with_other_content_is_409(client, world):
    hazard = found()
    client.put(
        url(world["unit"]),
        json={"zero_hazard": False, "hazards": [hazard]},
        headers=world["unit_user"],
    )
    changed = {**hazard, "description": "灭火器过期"}
    r = client.put(
        url(world["unit"]),
        json={"zero_hazard": False, "hazards": [changed]},
        headers=world["unit_user"],
    )
    assert r.status_code == 409, r.text
    # Keeping the stored hazard and adding another is an amendment.
    more = {"zero_hazard": False, "hazards": [hazard, found(category="gas")]}
    r = client.put(url(world["unit"]), json=more, headers=world["unit_user"])
    assert r.status_code == 200 and r.json()["version"] == 2 and len(r.json()["hazards"]) == 2


def test_hazard_id_of_an_inspection_cannot_be_claimed_by_a_report(client, world):
    hazard = hazard_body()
    inspection = {
        "id": str(uuid.uuid4()),
        "unit_id": str(world["unit"]),
        "kind": "routine",
        "inspected_at": "2026-08-10T09:00:00+08:00",
        "inspectors": ["张三"],
        "hazards": [hazard],
    }
    assert (
        client.post("/api/v1/inspections", json=inspection, headers=world["inspector"]).status_code
        == 201
    )
    body = {"zero_hazard": False, "hazards": [{**hazard, "found_at": "2026-08-10T09:00:00+08:00"}]}
    r = client.put(url(world["unit"]), json=body, headers=world["unit_user"])
    assert r.status_code == 409, r.text


@pytest.mark.parametrize(
    "body, field",
    [
        ({"zero_hazard": True, "hazards": [found()]}, "body.zero_hazard"),
        ({"zero_hazard": False, "hazards": []}, "body.hazards"),
        ({"zero_hazard": False}, "body.hazards"),
        ({"hazards": []}, "body.zero_hazard"),
        ({"zero_hazard": True, "filed_by_unit": True}, "body.filed_by_unit"),
        (
            {"zero_hazard": False, "hazards": [found("2026-06-30T23:30:00+08:00")]},
            "body.hazards.0.found_at",
        ),
        (
            {"zero_hazard": False, "hazards": [found("2026-10-01T00:00:00+08:00")]},
            "body.hazards.0.found_at",
        ),
        (
            {"zero_hazard": False, "hazards": [found("2026-08-10T09:00:00")]},
            "body.hazards.0.found_at",
        ),
        (
            {"zero_hazard": False, "hazards": [found(category="nonsense")]},
            "body.hazards.0.category",
        ),
        (
            {"zero_hazard": False, "hazards": [found(deadline="2026-08-01T00:00:00+08:00")]},
            "body.hazards.0.deadline",
        ),
    ],
)
def test_bad_report_is_422_naming_the_field_and_stores_nothing(client, world, body, field):
    r = client.put(url(world["unit"]), json=body, headers=world["unit_user"])
    assert r.status_code == 422, r.text
    assert field in locs(r)
    assert client.get(url(world["unit"]), headers=world["unit_user"]).status_code == 404
    assert client.get("/api/v1/hazards", headers=world["township"]).json()["items"] == []


def test_repeated_hazard_id_is_422(client, world):
    hazard = found()
    r = client.put(
        url(world["unit"]),
        json={"zero_hazard": False, "hazards": [hazard, hazard]},
        headers=world["unit_user"],
    )
    assert r.status_code == 422 and "body.hazards.1.id" in locs(r)


def test_found_at_is_judged_in_local_time(client, world):
    # 16:30 UTC on 30 June is 00:30 on 1 July in Shanghai: inside the third quarter.
    body = {"zero_hazard": False, "hazards": [found("2026-06-30T16:30:00Z")]}
    r = client.put(url(world["unit"]), json=body, headers=world["unit_user"])
    assert r.status_code == 201, r.text
    assert r.json()["hazards"][0]["period"] == PAST


def test_quarter_that_has_not_ended_is_422(client, world):
    current = period_of(datetime.now(SHANGHAI), "quarter", SHANGHAI).key
    r = client.put(
        url(world["unit"], current), json={"zero_hazard": True}, headers=world["unit_user"]
    )
    assert r.status_code == 422 and "path.quarter" in locs(r)


@pytest.mark.parametrize("quarter", ["2026Q5", "2026-05", "2026", "26Q1", "Q3-2026"])
def test_malformed_quarter_is_422(client, world, quarter):
    r = client.put(
        url(world["unit"], quarter), json={"zero_hazard": True}, headers=world["unit_user"]
    )
    assert r.status_code == 422 and "path.quarter" in locs(r)
    r = client.get(url(world["unit"], quarter), headers=world["unit_user"])
    assert r.status_code == 422 and "path.quarter" in locs(r)


def test_unit_user_cannot_file_or_read_another_units_report(client, world):
    other = make_unit(VILLAGE_A1)
    client.put(url(other), json={"zero_hazard": True}, headers=world["township"])
    r = client.put(url(other), json={"zero_hazard": True}, headers=world["unit_user"])
    assert r.status_code == 404
    assert client.get(url(other), headers=world["unit_user"]).status_code == 404


def test_another_township_gets_404(client, world):
    r = client.put(url(world["unit"]), json={"zero_hazard": True}, headers=world["other_town"])
    assert r.status_code == 404
    client.put(url(world["unit"]), json={"zero_hazard": True}, headers=world["township"])
    assert client.get(url(world["unit"]), headers=world["other_town"]).status_code == 404
    assert client.get(url(world["unit"]), headers=world["township"]).status_code == 200


def test_unknown_unit_and_missing_report_are_404(client, world):
    assert (
        client.put(
            url(uuid.uuid4()), json={"zero_hazard": True}, headers=world["township"]
        ).status_code
        == 404
    )
    assert client.get(url(world["unit"]), headers=world["township"]).status_code == 404


def test_county_may_read_but_not_file(client, world):
    r = client.put(url(world["unit"]), json={"zero_hazard": True}, headers=world["county"])
    assert r.status_code == 403
    assert client.get(url(world["unit"]), headers=world["county"]).status_code == 404


def test_admin_files_on_behalf(client, world):
    admin = login_as(client, "admin")
    r = client.put(url(world["unit"]), json={"zero_hazard": True}, headers=admin)
    assert r.status_code == 201 and r.json()["filed_by_unit"] is False


def test_a_unit_closed_before_the_quarter_cannot_file_for_it(client, world):
    closed = make_unit(VILLAGE_A1, status="closed", closed_on=date(2026, 6, 20))
    r = client.put(url(closed), json={"zero_hazard": True}, headers=world["township"])
    assert r.status_code == 422 and "path.quarter" in locs(r)
    assert (
        client.put(
            url(closed, "2026Q2"), json={"zero_hazard": True}, headers=world["township"]
        ).status_code
        == 201
    )


def _file_one_hazard(client, world) -> tuple[dict, dict]:
    """The unit files its report with one hazard fixed on the spot: (hazard, the report)."""
    hazard = found(handling="on_the_spot")
    r = client.put(
        url(world["unit"]),
        json={"zero_hazard": False, "hazards": [hazard]},
        headers=world["unit_user"],
    )
    assert r.status_code == 201
    return hazard, r.json()


def test_self_reported_hazards_are_listed_with_source_self_report(client, world):
    hazard, report = _file_one_hazard(client, world)
    listed = client.get(
        "/api/v1/hazards", params={"unit_id": str(world["unit"])}, headers=world["township"]
    )
    [item] = listed.json()["items"]
    assert item["id"] == hazard["id"] and item["source"] == "self_report"
    assert item["self_report_id"] == report["id"]
    # Fixed on the spot, on the unit's word: closed at the time it was found.
    assert item["status"] == "closed" and item["closed_at"] == item["found_at"]
    assert (
        client.get(f"/api/v1/hazards/{hazard['id']}", headers=world["unit_user"]).status_code == 200
    )


def test_a_hazard_without_a_governance_plan_stores_sql_null(client, world):
    """A missing plan is SQL NULL on every write path: the hot POST and /sync's COPY stored
    NULL, but the ORM (a self-report's hazards) stored the JSON value null."""
    hazard, _ = _file_one_hazard(client, world)
    with new_session() as s:
        stored = s.execute(
            text("SELECT governance_plan IS NULL FROM hazards WHERE id = :id"), {"id": hazard["id"]}
        ).scalar_one()
    assert stored is True


# --- timeliness, with the receipt time given explicitly --------------------------------------


def _actor(role: str, unit_id=None) -> Actor:
    return Actor(
        user_id=uuid.uuid4(), username=role, role=role, region_code=TOWN_A, unit_id=unit_id
    )


@pytest.mark.parametrize(
    "received, on_time",
    [
        (datetime(2026, 7, 10, tzinfo=SHANGHAI), True),
        (datetime(2026, 7, 15, 23, 59, 59, tzinfo=SHANGHAI), True),
        (datetime(2026, 7, 15, 23, 59, 59, 999999, tzinfo=SHANGHAI), True),  # the deadline itself
        (datetime(2026, 7, 16, 0, 0, 0, tzinfo=SHANGHAI), False),
        (datetime(2026, 7, 15, 16, 0, 0, tzinfo=ZoneInfo("UTC")), False),  # 16 July, 00:00 local
    ],
)
def test_on_time_is_decided_by_the_receipt_time_of_version_1(session, received, on_time):
    make_region_tree()
    unit = make_unit(VILLAGE_A1)
    report, made = self_reports.file_report(
        session,
        _actor("unit", unit),
        unit_id=unit,
        quarter="2026Q2",
        data={"zero_hazard": True},
        now=received,
    )
    assert made and report.on_time is on_time and report.filed_by_unit is True
    assert report.first_filed_at == received
    # A later amendment does not change timeliness or who filed.
    later = datetime(2026, 9, 1, tzinfo=SHANGHAI)
    hazard = {
        "id": uuid.uuid4(),
        "level": "general",
        "category": "fire",
        "description": "灭火器过期",
        "handling": "deadline",
        "deadline": date(2026, 5, 20),
        "found_at": datetime(2026, 5, 2, 8, tzinfo=SHANGHAI),
    }
    data = {"zero_hazard": False, "hazards": [hazard]}
    report, made = self_reports.file_report(
        session, _actor("township"), unit_id=unit, quarter="2026Q2", data=data, now=later
    )
    assert made and report.version == 2 and report.zero_hazard is False
    assert report.on_time is on_time and report.filed_by_unit is True
    assert report.first_filed_at == received


def test_a_quarter_ends_at_local_midnight(session):
    make_region_tree()
    unit = make_unit(VILLAGE_A1)
    with pytest.raises(Invalid) as err:
        self_reports.file_report(
            session,
            _actor("township"),
            unit_id=unit,
            quarter="2026Q2",
            data={"zero_hazard": True},
            now=datetime(2026, 6, 30, 23, 59, tzinfo=SHANGHAI),
        )
    assert err.value.loc == ["path", "quarter"]
    report, _ = self_reports.file_report(
        session,
        _actor("township"),
        unit_id=unit,
        quarter="2026Q2",
        data={"zero_hazard": True},
        now=datetime(2026, 7, 1, tzinfo=SHANGHAI),
    )
    assert report.on_time is True and report.filed_by_unit is False


# --- the roster and the 未报 list -------------------------------------------------------------


def test_roster_lists_required_units_with_their_report_or_its_absence(client, world):
    filed = world["unit"]
    missing = make_unit(VILLAGE_A2, name="东二村饭店")
    closed_mid = make_unit(VILLAGE_A1, status="closed", closed_on=date(2026, 8, 15))
    make_unit(VILLAGE_A1, status="closed", closed_on=date(2026, 6, 30))  # closed before Q3
    make_unit(VILLAGE_A1, status="closed", closed_on=date(2026, 7, 1))  # closed from day one
    make_unit(VILLAGE_A1, reporting_required=False)  # not required to report
    make_unit(VILLAGE_A1, operating_since=date(2026, 10, 5))  # opened after Q3
    opened_mid = make_unit(VILLAGE_A1, operating_since=date(2026, 9, 30))
    suspended = make_unit(VILLAGE_A1, status="suspended")
    client.put(url(filed), json={"zero_hazard": True}, headers=world["unit_user"])

    def listing(**params):
        r = client.get(
            "/api/v1/self-reports", params={"quarter": PAST, **params}, headers=world["township"]
        )
        assert r.status_code == 200, r.text
        return r.json()

    everyone = listing()
    assert {i["unit_id"] for i in everyone["items"]} == {
        str(u) for u in (filed, missing, closed_mid, opened_mid, suspended)
    }  # town B's unit is outside the township's region
    assert [i["unit_id"] for i in everyone["items"]] == sorted(
        i["unit_id"] for i in everyone["items"]
    )
    unfiled = listing(filed="false")["items"]
    assert {i["unit_id"] for i in unfiled} == {
        str(u) for u in (missing, closed_mid, opened_mid, suspended)
    }
    entry = next(i for i in unfiled if i["unit_id"] == str(missing))
    assert entry == {
        "unit_id": str(missing),
        "unit_name": "东二村饭店",
        "region_code": VILLAGE_A2,
        "filed": False,
        "report": None,
        "on_time": None,
        "filed_by_unit": None,
        "zero_hazard": None,
    }
    [done] = listing(filed="true")["items"]
    assert done["unit_id"] == str(filed) and done["filed"] is True
    assert (done["on_time"], done["filed_by_unit"], done["zero_hazard"]) == (False, True, True)
    assert done["report"]["quarter"] == PAST and done["report"]["version"] == 1
    # A village below the township narrows the list.
    assert [i["unit_id"] for i in listing(region=VILLAGE_A2)["items"]] == [str(missing)]


def test_roster_pages_by_unit_id(client, world):
    for _ in range(4):
        make_unit(VILLAGE_A2)
    seen, cursor = [], None
    while True:
        params = {"quarter": PAST, "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/self-reports", params=params, headers=world["township"]).json()
        seen += [i["unit_id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 5 and seen == sorted(seen) and len(set(seen)) == 5


def test_roster_defaults_to_the_callers_region_and_county_sees_both_townships(client, world):
    r = client.get("/api/v1/self-reports", params={"quarter": PAST}, headers=world["county"])
    assert {i["unit_id"] for i in r.json()["items"]} == {str(world["unit"]), str(world["unit_b"])}
    r = client.get("/api/v1/self-reports", params={"quarter": PAST}, headers=world["other_town"])
    assert [i["unit_id"] for i in r.json()["items"]] == [str(world["unit_b"])]


@pytest.mark.parametrize(
    "params, who, status, field",
    [
        ({}, "township", 422, "quarter"),
        ({"quarter": "2026-07"}, "township", 422, "quarter"),
        ({"quarter": PAST, "region": "12345"}, "township", 422, "region"),
        ({"quarter": PAST, "region": TOWN_B}, "township", 404, None),
        ({"quarter": PAST, "limit": 501}, "township", 422, "limit"),
        ({"quarter": PAST, "cursor": "garbage"}, "township", 422, "cursor"),
        ({"quarter": PAST, "filed": "maybe"}, "township", 422, "filed"),
        ({"quarter": PAST}, "unit_user", 403, None),
    ],
)
def test_roster_refuses_bad_queries(client, world, params, who, status, field):
    r = client.get("/api/v1/self-reports", params=params, headers=world[who])
    assert r.status_code == status, r.text
    if field:
        assert any(loc.endswith(field) for loc in locs(r)), r.json()


def test_concurrent_first_filings_are_serialised_per_unit():
    """The second of two racing identical filings waits for the first, then replays it."""
    make_region_tree()
    unit = make_unit(VILLAGE_A1)
    received = datetime(2026, 7, 10, tzinfo=SHANGHAI)
    outcome: dict = {}

    def file(session):
        return self_reports.file_report(
            session,
            _actor("township"),
            unit_id=unit,
            quarter="2026Q2",
            data={"zero_hazard": True},
            now=received,
        )

    def second():
        with new_session() as s:
            report, made = file(s)
            outcome.update(id=report.id, made=made)
            s.commit()

    with new_session() as first:
        report, made = file(first)
        racer = threading.Thread(target=second)
        racer.start()
        racer.join(timeout=1)
        assert racer.is_alive()  # blocked on the unit until the first filing commits
        first.commit()
    racer.join(timeout=10)
    assert outcome == {"id": report.id, "made": False}
