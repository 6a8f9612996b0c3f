"""Small typed helpers that build test data through the services, committed."""

from __future__ import annotations

import uuid
from datetime import date

from fastapi.testclient import TestClient

from services import auth, regions
from services.actors import SYSTEM
from services.db import unit_of_work
from services.models import Unit

COUNTY = "330102000000"
TOWN_A = "330102001000"
TOWN_B = "330102002000"
VILLAGE_A1 = "330102001001"
VILLAGE_A2 = "330102001002"
VILLAGE_B1 = "330102002001"
PASSWORD = "correct-horse-1"


def make_region_tree() -> None:
    """A province › city › county with two townships (A, B) and their villages."""
    with unit_of_work() as s:
        for code, name in [
            ("330000000000", "浙江省"),
            ("330100000000", "杭州市"),
            (COUNTY, "示范县"),
            (TOWN_A, "东镇"),
            (TOWN_B, "西镇"),
            (VILLAGE_A1, "东一村"),
            (VILLAGE_A2, "东二村"),
            (VILLAGE_B1, "西一村"),
        ]:
            regions.put_region(s, code=code, name=name)


def make_unit(
    region_code: str = VILLAGE_A1,
    *,
    name: str | None = None,
    kind: str = "shop",
    reporting_required: bool = True,
    status: str = "operating",
    operating_since: date | None = None,
    closed_on: date | None = None,
    credit_code: str | None = None,
) -> uuid.UUID:
    unit_id = uuid.uuid4()
    with unit_of_work() as s:
        s.add(
            Unit(
                id=unit_id,
                name=name or f"单位-{unit_id.hex[:6]}",
                region_code=region_code,
                kind=kind,
                reporting_required=reporting_required,
                key_supervision=False,
                status=status,
                operating_since=operating_since,
                closed_on=closed_on,
                credit_code=credit_code,
            )
        )
    return unit_id


def make_user(
    username: str,
    role: str,
    region_code: str | None = None,
    unit_id: uuid.UUID | None = None,
) -> uuid.UUID:
    with unit_of_work() as s:
        user = auth.create_user(
            s,
            SYSTEM,
            username=username,
            password=PASSWORD,
            role=role,
            region_code=region_code,
            unit_id=unit_id,
        )
        return user.id


def token(client: TestClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def login_as(client: TestClient, role: str, region_code: str | None = None, **kw) -> dict[str, str]:
    """Create a user with a fresh name and return its auth header."""
    username = f"{role}-{uuid.uuid4().hex[:8]}"
    make_user(username, role, region_code, **kw)
    return token(client, username)


def inspection_body(
    unit_id: uuid.UUID,
    inspected_at: str = "2026-10-01T00:30:00+08:00",
    hazards: list[dict] | None = None,
    **extra,
) -> dict:
    return {
        "id": str(uuid.uuid4()),
        "unit_id": str(unit_id),
        "kind": "routine",
        "inspected_at": inspected_at,
        "inspectors": ["张三", "李四"],
        "hazards": hazards if hazards is not None else [],
        **extra,
    }


def hazard_body(
    handling: str = "deadline", deadline: str | None = "2026-10-15T18:00:00+08:00", **extra
) -> dict:
    body = {
        "id": str(uuid.uuid4()),
        "level": "general",
        "category": "exits",
        "description": "安全出口被货物堵塞",
        "location": "一楼后门",
        "handling": handling,
        **extra,
    }
    if handling == "deadline":
        body["deadline"] = deadline
    return body


def event_body(type_: str, at: str, **extra) -> dict:
    return {"id": str(uuid.uuid4()), "type": type_, "at": at, **extra}
