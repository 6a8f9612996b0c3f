"""Limits and hardening: body, batch, page and photo sizes, secrets, unknown fields, logins."""

from __future__ import annotations

import uuid

import pytest
from pydantic import ValidationError

from services.settings import DEFAULT_SECRET, Settings, get_settings
from tests.builders import (
    TOWN_A,
    VILLAGE_A1,
    hazard_body,
    inspection_body,
    login_as,
    make_region_tree,
    make_unit,
    make_user,
)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def world(client):
    make_region_tree()
    unit = make_unit(VILLAGE_A1)
    headers = login_as(client, "township", TOWN_A)
    hazard = hazard_body()
    r = client.post(
        "/api/v1/inspections", json=inspection_body(unit, hazards=[hazard]), headers=headers
    )
    assert r.status_code == 201, r.text
    return {"headers": headers, "unit": unit, "hazard": hazard["id"]}


def test_body_larger_than_the_limit_is_413(client, world):
    limit = get_settings().body_max_bytes
    r = client.post(
        "/api/v1/sync",
        content=b"{" + b" " * limit + b"}",
        headers={**world["headers"], "Content-Type": "application/json"},
    )
    assert r.status_code == 413
    assert r.json()["detail"][0]["type"] == "too_large"
    # A lying or malformed Content-Length is refused too.
    r = client.post("/api/v1/sync", content=b"{}", headers={"Content-Length": "-1"})
    assert r.status_code in (400, 413)


def _chunks(total: int, size: int = 1 << 20):
    """A body sent chunked (no Content-Length), `total` bytes of JSON-ish filler."""
    yield b"{"
    for start in range(0, total, size):
        yield b" " * min(size, total - start)
    yield b"}"


def test_a_chunked_body_larger_than_the_limit_is_413_even_without_a_token(client, world):
    """A body of no stated length was read whole before the token was checked (60 MiB taken in
    by an anonymous request, found in review, session 14)."""
    limit = get_settings().body_max_bytes
    for url, headers in (("/api/v1/sync", world["headers"]), ("/api/v1/auth/refresh", {})):
        r = client.post(
            url, content=_chunks(limit + 1), headers={**headers, "Content-Type": "application/json"}
        )
        assert r.status_code == 413, (url, r.status_code, r.text[:200])
        assert r.json()["detail"][0]["type"] == "too_large"
    # Under the limit a chunked body is read as any other.
    body = b'{"inspections": []}'
    r = client.post(
        "/api/v1/sync",
        content=iter([body[:5], body[5:]]),
        headers={**world["headers"], "Content-Type": "application/json"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["stored"] == 0


def test_sync_batch_of_more_than_500_items_is_422(client, world):
    items = [{"id": str(uuid.uuid4())} for _ in range(501)]
    r = client.post("/api/v1/sync", json={"events": items}, headers=world["headers"])
    assert r.status_code == 422
    both = {"inspections": items[:300], "events": items[300:] + items[:50]}
    r = client.post("/api/v1/sync", json=both, headers=world["headers"])
    assert r.status_code == 422


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/units",
        "/api/v1/inspections",
        "/api/v1/hazards",
        "/api/v1/campaigns",
        "/api/v1/users",
        "/api/v1/self-reports?quarter=2026Q3&",
        "/api/v1/audit",
        "/api/v1/metrics/members?period=2026Q3&metric=hazards_found&",
    ],
)
def test_page_size_above_500_is_422(client, world, path):
    county = login_as(client, "county", "330102000000")
    sep = "" if path.endswith("&") else "?"
    assert client.get(f"{path}{sep}limit=500", headers=county).status_code == 200
    r = client.get(f"{path}{sep}limit=501", headers=county)
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["query", "limit"]


def _upload(client, world, data: bytes, name: str = "x.png", content_type: str = "image/png"):
    photo_id = str(uuid.uuid4())
    r = client.post(
        f"/api/v1/hazards/{world['hazard']}/photos",
        data={"id": photo_id},
        files={"file": (name, data, content_type)},
        headers=world["headers"],
    )
    return photo_id, r


def test_photo_size_and_type_are_checked_from_the_content(client, world):
    limit = get_settings().photo_max_bytes
    _, r = _upload(client, world, PNG + b"\x00" * limit)
    assert r.status_code in (413, 422), r.text
    # Claims to be a PNG, is a script: refused whatever the name and declared type say.
    _, r = _upload(client, world, b"<script>alert(1)</script>", "x.png", "image/png")
    assert r.status_code == 422, r.text
    _, r = _upload(client, world, b"%PDF-1.4 ...", "x.jpg", "image/jpeg")
    assert r.status_code == 422, r.text


def test_stored_photo_names_never_come_from_the_client(client, world):
    photo_id, r = _upload(client, world, PNG, name="../../../evil name.php")
    assert r.status_code == 201, r.text
    root = get_settings().data_dir / "photos"
    stored = [p for p in root.rglob("*") if p.is_file()]
    assert stored, "the photo was stored"
    for path in stored:
        assert path.resolve().is_relative_to(root.resolve())
        assert "evil" not in str(path) and ".php" not in str(path)
    assert any(p.name == f"{photo_id}.png" for p in stored)
    r = client.get(f"/api/v1/hazards/{world['hazard']}/photos/{photo_id}", headers=world["headers"])
    assert r.status_code == 200 and r.content == PNG
    assert r.headers["content-type"] == "image/png"


def test_production_refuses_a_default_or_short_secret():
    with pytest.raises(ValidationError):
        Settings(env="production", secret_key=DEFAULT_SECRET)
    with pytest.raises(ValidationError):
        Settings(env="production", secret_key="short-secret")
    assert Settings(env="production", secret_key="x" * 32).env == "production"
    assert Settings(env="development", secret_key=DEFAULT_SECRET).env == "development"


def _resolve(doc: dict, schema: dict) -> dict:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = doc["components"]["schemas"][name]
    return schema


def _objects(doc: dict, schema: dict, seen: set[str]):
    """Every object schema reachable from a request body schema."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name in seen:
            return
        seen.add(name)
    schema = _resolve(doc, schema)
    if schema.get("type") == "object" or "properties" in schema:
        yield schema
    for sub in schema.get("properties", {}).values():
        yield from _objects(doc, sub, seen)
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in schema.get(key, []):
            yield from _objects(doc, sub, seen)
    if "items" in schema and isinstance(schema["items"], dict):
        yield from _objects(doc, schema["items"], seen)


def test_every_json_write_schema_forbids_unknown_fields(client):
    doc = client.get("/openapi.json").json()
    checked = 0
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            content = op.get("requestBody", {}).get("content", {})
            if "application/json" not in content:
                continue
            for obj in _objects(doc, content["application/json"]["schema"], set()):
                if (
                    obj.get("additionalProperties") is True
                    or "additionalProperties" in obj
                    and (isinstance(obj["additionalProperties"], dict))
                ):
                    continue  # a free-form map by design (none today)
                assert obj.get("additionalProperties") is False, (method, path, obj.get("title"))
                checked += 1
    assert checked >= 15


def test_unknown_fields_are_refused_with_the_field_named(client, world):
    r = client.patch(
        f"/api/v1/units/{world['unit']}",
        json={"address": "x", "region_code": "330102002001"},
        headers=world["headers"],
    )
    assert r.status_code == 422
    assert ["body", "region_code"] in [e["loc"] for e in r.json()["detail"]]
    body = inspection_body(world["unit"], hazards=[{**hazard_body(), "status": "closed"}])
    r = client.post("/api/v1/inspections", json=body, headers=world["headers"])
    assert r.status_code == 422


def test_failed_logins_are_limited_per_username(client, world):
    make_user("target", "inspector", TOWN_A)
    limit = get_settings().login_max_failures
    for _ in range(limit):
        r = client.post("/api/v1/auth/token", data={"username": "target", "password": "wrong-1"})
        assert r.status_code == 401
    r = client.post("/api/v1/auth/token", data={"username": "target", "password": "wrong-1"})
    assert r.status_code == 429
    # Even the right password waits for the window to pass.
    r = client.post(
        "/api/v1/auth/token", data={"username": "target", "password": "correct-horse-1"}
    )
    assert r.status_code == 429


def test_failed_logins_are_limited_per_address(client, world):
    """Spraying many usernames from one address hits the address limit."""
    statuses = []
    for i in range(get_settings().login_max_failures * 4 + 2):
        r = client.post(
            "/api/v1/auth/token", data={"username": f"nobody-{i}", "password": "wrong-pass"}
        )
        statuses.append(r.status_code)
    assert statuses[0] == 401
    assert statuses[-1] == 429
    assert 429 in statuses[: get_settings().login_max_failures * 4 + 1]
