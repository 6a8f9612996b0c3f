"""The phone's plain POST /inspections is answered before FastAPI (api/hot_writes.py); every
other request, and every refusal, reaches the route, whose answers stay the contract's."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from sqlalchemy import text

from api import hot_writes
from api.observability import REGISTRY
from api.routers import inspections as route
from services import inspections
from services.db import unit_of_work
from tests.builders import (
    TOWN_A,
    TOWN_B,
    VILLAGE_A1,
    VILLAGE_B1,
    hazard_body,
    inspection_body,
    login_as,
    make_region_tree,
    make_unit,
    make_user,
    token,
)


@pytest.fixture
def at_route(monkeypatch) -> list:
    """The bodies that reached the route's service call (the general path)."""
    seen = []
    record = inspections.record_inspection

    def counting(session, actor, *, data, loc=None):
        seen.append(str(data["id"]))
        return record(session, actor, data=data, loc=loc)

    monkeypatch.setattr(route.inspections, "record_inspection", counting)
    return seen


def stored(inspection_id) -> tuple[int, int, int]:
    """(inspections, hazards, outbox marks) stored for this inspection id."""
    with unit_of_work() as s:
        return s.execute(
            text(
                "SELECT (SELECT count(*) FROM inspections WHERE id = :i),"
                " (SELECT count(*) FROM hazards WHERE inspection_id = :i),"
                " (SELECT count(*) FROM metric_marks)"
            ),
            {"i": str(inspection_id)},
        ).one()


def test_a_plain_post_is_answered_before_the_route_as_the_route_answers(client, at_route):
    make_region_tree()
    unit = make_unit(VILLAGE_A1)
    headers = {**login_as(client, "inspector", TOWN_A), "X-Request-Id": "phone-1"}
    first = inspection_body(unit, hazards=[hazard_body()])
    assert client.post("/api/v1/inspections", json=first, headers=headers).status_code == 201
    assert at_route == [first["id"]]  # the token was not known to this process yet

    body = inspection_body(
        unit,
        hazards=[hazard_body(), hazard_body("on_the_spot", level="general", category="fire")],
        departments=["消防救援大队"],
        notice_number="（东）安检〔2026〕1号",
        note="复查",
    )
    r = client.post("/api/v1/inspections", json=body, headers=headers)
    assert r.status_code == 201, r.text
    assert at_route == [first["id"]]  # answered on the hot path
    assert r.headers["x-request-id"] == "phone-1"
    assert r.headers["content-length"] == str(len(r.content))
    # What the route renders for the stored record, field for field.
    got = client.get(f"/api/v1/inspections/{body['id']}", headers=headers)
    assert r.json() == got.json()
    answer = r.json()
    assert answer["region_code"] == VILLAGE_A1 and answer["inspected_at"].endswith("+08:00")
    assert sorted(h["status"] for h in answer["hazards"]) == ["closed", "reported"]
    assert {h["period"] for h in answer["hazards"]} == {"2026Q4"}
    assert stored(body["id"])[:2] == (1, 2)
    with unit_of_work() as s:  # one outbox mark for the write's (village, month) bucket
        marks = s.execute(text("SELECT region_code, month::text FROM metric_marks")).all()
    assert marks == [(VILLAGE_A1, "2026-10-01")] * 2
    # The latency histogram names the route, on either path.
    assert 'method="POST",route="/api/v1/inspections",status="201"' in client.get("/metrics").text


def test_anything_unusual_is_answered_by_the_route(client, at_route):
    make_region_tree()
    unit = make_unit(VILLAGE_A1)
    headers = login_as(client, "inspector", TOWN_A)
    body = inspection_body(unit, hazards=[hazard_body()])
    assert client.post("/api/v1/inspections", json=body, headers=headers).status_code == 201
    at_route.clear()

    def post(payload, **kw):
        return client.post("/api/v1/inspections", json=payload, headers=headers, **kw)

    # A replay gets the stored record, other content under the same id a conflict.
    r = post(body)
    assert r.status_code == 200 and r.json()["id"] == body["id"]
    r = post({**body, "note": "changed"})
    assert r.status_code == 409
    # Bad input: 422 naming the field, from the route's validation or its rules.
    r = post({**inspection_body(unit), "inspectors": []})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "inspectors"]
    r = post(inspection_body(unit, inspected_at="2099-01-01T00:00:00+08:00"))
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "inspected_at"]
    r = post(inspection_body(unit, hazards=[hazard_body(category="no_such_category")]))
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][:3] == ["body", "hazards", 0]
    r = post(inspection_body(make_unit(VILLAGE_B1)))  # outside the inspector's township
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "unit_id"]
    r = client.post(
        "/api/v1/inspections",
        content=b'{"id": "not json',
        headers={**headers, "Content-Type": "application/json"},
    )
    assert r.status_code == 422
    assert len(at_route) == 5  # the route's validation stopped the other two before its rules
    # The county reads and supervises; it does not record inspections.
    county = login_as(client, "county", "330102000000")
    r = client.post("/api/v1/inspections", json=inspection_body(unit), headers=county)
    assert r.status_code == 403
    assert client.post("/api/v1/inspections", json=inspection_body(unit)).status_code == 401
    # Nothing of the refused requests was stored.
    with unit_of_work() as s:
        assert s.execute(text("SELECT count(*) FROM inspections")).scalar_one() == 1


def test_a_disabled_inspector_is_refused_on_the_next_post(client, at_route):
    make_region_tree()
    unit = make_unit(VILLAGE_A1)
    admin = login_as(client, "admin")
    user_id = make_user("phone-user", "inspector", TOWN_A)
    headers = token(client, "phone-user")
    for _ in range(2):  # the second is on the hot path
        r = client.post("/api/v1/inspections", json=inspection_body(unit), headers=headers)
        assert r.status_code == 201
    assert len(at_route) == 1
    r = client.patch(f"/api/v1/users/{user_id}", json={"active": False}, headers=admin)
    assert r.status_code == 200
    body = inspection_body(unit)
    r = client.post("/api/v1/inspections", json=body, headers=headers)
    assert r.status_code == 401 and stored(body["id"])[0] == 0


def test_an_id_stored_between_the_check_and_the_write_is_answered_by_the_route(
    client, at_route, monkeypatch
):
    """Another request may store the same id after this one's check read it as new: the write
    meets the unique key, stores nothing, and the route answers (a replay here)."""
    _, headers, body = _an_inspector_with_a_stored_inspection(client)
    known_of = inspections._known_of
    fooled = []

    def not_seen_yet(rows):  # the hot check reads as if the other request had not committed
        known = known_of(rows)
        if not fooled:  # the route's own check, after it, reads what is stored
            fooled.append(True)
            known.inspections.clear()
            known.hazard_ids.clear()
        return known

    monkeypatch.setattr(inspections, "_known_of", not_seen_yet)
    at_route.clear()
    r = client.post("/api/v1/inspections", json=body, headers=headers)
    assert r.status_code == 200 and r.json()["id"] == body["id"]
    assert fooled and at_route == [body["id"]]
    assert stored(body["id"])[:2] == (1, 1)


def _an_inspector_with_a_stored_inspection(client) -> tuple:
    """(unit, the inspector's headers, the body of an inspection stored with one hazard)."""
    make_region_tree()
    unit = make_unit(VILLAGE_A1)
    headers = login_as(client, "inspector", TOWN_A)
    body = inspection_body(unit, hazards=[hazard_body()])
    assert client.post("/api/v1/inspections", json=body, headers=headers).status_code == 201
    return unit, headers, body


def test_the_hot_path_keeps_each_region_to_its_own_inspectors(client, at_route):
    make_region_tree()
    headers_b = login_as(client, "inspector", TOWN_B)
    unit_b = make_unit(VILLAGE_B1)
    warm = inspection_body(unit_b)
    assert client.post("/api/v1/inspections", json=warm, headers=headers_b).status_code == 201
    at_route.clear()
    foreign = inspection_body(make_unit(VILLAGE_A1))
    r = client.post("/api/v1/inspections", json=foreign, headers=headers_b)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "unit_id"]
    assert stored(foreign["id"])[0] == 0
    assert at_route == [foreign["id"]]  # the hot path's check refused it; the route answered


# -- posts that arrive together ---------------------------------------------------------------


class HeldWrite:
    """Holds the hot path's first write until the posts sent after it wait behind it, so that
    they go in one batch, in the order sent (as under load, where a batch gathers whatever
    arrived during the write before it)."""

    def __init__(self, monkeypatch) -> None:
        self.sizes: list[int] = []
        self.batches: hot_writes.Batches | None = None
        self.release = threading.Event()
        original = inspections.record_new_inspections

        async def held(pool, posts):
            self.sizes.append(len(posts))
            self.batches = hot_writes.Batches.of(pool)
            deadline = time.monotonic() + 20  # a failing test must not hang the suite
            while len(self.sizes) == 1 and not self.release.is_set():
                assert time.monotonic() < deadline, "the held write was never released"
                await asyncio.sleep(0.005)
            return await original(pool, posts)

        monkeypatch.setattr(inspections, "record_new_inspections", held)

    def post_all(self, client, posts: list[tuple[dict, dict]]) -> list:
        """POST each (body, headers); the first one's write waits for all the others."""
        answers: list = [None] * len(posts)

        def send(i: int) -> None:
            body, headers = posts[i]
            answers[i] = client.post("/api/v1/inspections", json=body, headers=headers)

        threads = [threading.Thread(target=send, args=(i,)) for i in range(len(posts))]
        try:
            threads[0].start()
            _until(lambda: self.batches is not None)
            for i, thread in enumerate(threads[1:], start=1):
                thread.start()
                _until(lambda i=i: len(self.batches.waiting) == i)
        finally:
            self.release.set()
            for thread in threads:
                if thread.ident is not None:  # started
                    thread.join(timeout=30)
        return answers


def _until(condition, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the posts did not line up behind the held write"
        time.sleep(0.002)


def test_posts_that_arrive_during_a_write_are_written_together(client, at_route, monkeypatch):
    make_region_tree()
    unit = make_unit(VILLAGE_A1)
    headers = login_as(client, "inspector", TOWN_A)
    warm = inspection_body(unit)
    assert client.post("/api/v1/inspections", json=warm, headers=headers).status_code == 201
    at_route.clear()
    before = _writes_and_posts()
    held = HeldWrite(monkeypatch)
    bodies = [inspection_body(unit, hazards=[hazard_body(), hazard_body()]) for _ in range(6)]

    answers = held.post_all(client, [(b, headers) for b in bodies])

    assert held.sizes == [1, 5]  # the first alone, the five that came during it together
    assert [a.status_code for a in answers] == [201] * 6, [a.text for a in answers]
    assert at_route == []
    for body, answer in zip(bodies, answers, strict=True):
        got = client.get(f"/api/v1/inspections/{body['id']}", headers=headers)
        assert answer.json() == got.json()  # each its own record, as the route renders it
        assert stored(body["id"])[:2] == (1, 2)
    writes, posts = _writes_and_posts()
    assert (writes - before[0], posts - before[1]) == (2, 6)


def test_each_post_of_a_batch_gets_its_own_answer(client, at_route, monkeypatch):
    """In one batch: new posts are stored, and every other post is answered by the route after
    the batch's write, as if it had come alone just after it."""
    make_region_tree()
    unit = make_unit(VILLAGE_A1)
    admin = login_as(client, "admin")
    headers = login_as(client, "inspector", TOWN_A)
    leaving_id = make_user("leaving-inspector", "inspector", TOWN_A)
    leaving = token(client, "leaving-inspector")
    stored_before = inspection_body(unit)
    for body, h in ((stored_before, headers), (inspection_body(unit), leaving)):
        assert client.post("/api/v1/inspections", json=body, headers=h).status_code == 201
    assert (
        client.patch(
            f"/api/v1/users/{leaving_id}", json={"active": False}, headers=admin
        ).status_code
        == 200
    )
    at_route.clear()
    held = HeldWrite(monkeypatch)
    new = inspection_body(unit, hazards=[hazard_body()])
    other_new = inspection_body(unit)
    posts = [
        (inspection_body(unit), headers),  # held: the batch below waits for it
        (new, headers),
        (dict(new), headers),  # the phone sent it again before the first answer came
        ({**new, "note": "other content"}, headers),  # the same id, other content
        (stored_before, headers),  # a replay of a stored inspection
        (inspection_body(make_unit(VILLAGE_B1)), headers),  # outside the inspector's township
        (inspection_body(unit), leaving),  # a user disabled since the token was known here
        (other_new, headers),
    ]

    answers = held.post_all(client, posts)

    assert held.sizes == [1, 7]
    statuses = [a.status_code for a in answers]
    assert statuses == [201, 201, 200, 409, 200, 422, 401, 201], [a.text for a in answers]
    assert answers[2].json() == answers[1].json()  # the stored record, replayed
    assert answers[4].json()["id"] == stored_before["id"]
    assert answers[5].json()["detail"][0]["loc"] == ["body", "unit_id"]
    assert sorted(at_route) == sorted(str(posts[i][0]["id"]) for i in (2, 3, 4, 5))
    assert stored(new["id"])[:2] == (1, 1) and stored(other_new["id"])[0] == 1
    for i in (5, 6):
        assert stored(posts[i][0]["id"])[0] == 0


def test_a_batch_whose_write_meets_a_stored_id_is_answered_post_by_post(
    client, at_route, monkeypatch
):
    """One post's id stored by another request between the batch's read and its write: the
    write stores nothing, and the route answers every post of the batch on its own."""
    unit, headers, raced = _an_inspector_with_a_stored_inspection(client)
    known_of = inspections._known_of

    def not_seen_yet(rows):  # the batch's read, as if the other request had not committed
        known = known_of(rows)
        if len(held.sizes) == 2 and not fooled:
            fooled.append(True)
            known.inspections.clear()
            known.hazard_ids.clear()
        return known

    fooled: list = []
    held = HeldWrite(monkeypatch)
    monkeypatch.setattr(inspections, "_known_of", not_seen_yet)
    at_route.clear()
    first, new = inspection_body(unit), inspection_body(unit, hazards=[hazard_body()])

    answers = held.post_all(client, [(first, headers), (new, headers), (raced, headers)])

    assert fooled and held.sizes == [1, 2]
    assert [a.status_code for a in answers] == [201, 201, 200]
    assert answers[2].json()["id"] == raced["id"]
    assert sorted(at_route) == sorted([str(new["id"]), str(raced["id"])])
    assert stored(new["id"])[:2] == (1, 1) and stored(raced["id"])[:2] == (1, 1)


# It holds a write open on purpose: whatever breaks, it fails within a minute, not hangs.
@pytest.mark.timeout(60)
def test_a_post_left_waiting_behind_a_write_that_hangs_gets_a_503_and_nothing_is_written(
    client, at_route, monkeypatch
):
    """A write that does not end (a database that stopped answering) holds the posts behind
    it: past the pool's wait they are refused with a 503 to retry, before anything of them is
    written, as a post that waited as long for a connection is."""
    unit, headers, _ = _an_inspector_with_a_stored_inspection(client)
    held = HeldWrite(monkeypatch)
    first, late = inspection_body(unit), inspection_body(unit)
    answers: dict = {}

    def send(name: str, body: dict) -> None:
        answers[name] = client.post("/api/v1/inspections", json=body, headers=headers)

    writing = threading.Thread(target=send, args=("first", first))
    writing.start()
    try:
        _until(lambda: held.batches is not None)
        held.batches.wait_seconds = 0.2
        waiting = threading.Thread(target=send, args=("late", late), daemon=True)
        waiting.start()
        _until(lambda: "late" in answers, seconds=5)  # while the first write still hangs
    finally:
        held.release.set()
        writing.join(timeout=30)

    assert answers["late"].status_code == 503
    assert answers["late"].json() == {"detail": "database unavailable, retry"}
    assert stored(late["id"])[0] == 0 and held.sizes == [1]
    assert answers["first"].status_code == 201 and stored(first["id"])[0] == 1
    r = client.post("/api/v1/inspections", json=late, headers=headers)  # the phone retries
    assert r.status_code == 201 and stored(late["id"])[0] == 1


def test_a_value_the_checks_read_cannot_take_sends_the_posts_to_the_route(
    client, at_route, monkeypatch
):
    """A batch's read failing on a value (a DataError) is not a 500 for every post in it:
    the route answers each on its own."""
    unit, headers, _ = _an_inspector_with_a_stored_inspection(client)
    at_route.clear()
    failing = "SELECT 'caller', NULL::uuid, (1 / 0)::text, NULL::text"  # division_by_zero
    monkeypatch.setattr(inspections, "HOT_KNOWN_SQL", failing)
    body = inspection_body(unit)
    r = client.post("/api/v1/inspections", json=body, headers=headers)
    assert r.status_code == 201 and at_route == [body["id"]] and stored(body["id"])[0] == 1


def _writes_and_posts() -> tuple[float, float]:
    """(writes, posts) of the hot path's batches so far, from its Prometheus histogram."""
    count = REGISTRY.get_sample_value("hazardtrack_inspection_posts_per_write_count") or 0.0
    total = REGISTRY.get_sample_value("hazardtrack_inspection_posts_per_write_sum") or 0.0
    return count, total


def test_a_fault_in_one_post_fails_that_post_alone_not_its_batch(app, monkeypatch):
    """A post whose checks raise something unforeseen (not a refusal) is left to the route,
    where it fails alone; before session 14 it failed every post of its batch with it, so one
    phone's odd input lost other phones' inspections."""
    from fastapi.testclient import TestClient

    make_region_tree()
    unit = make_unit(VILLAGE_A1)
    poison = inspection_body(unit, note="unforeseen")
    check = inspections.check_inspection

    def faulty(actor, data, known, *, loc):
        if data.get("note") == "unforeseen":
            raise RuntimeError("a fault in the checks")
        return check(actor, data, known, loc=loc)

    monkeypatch.setattr(inspections, "check_inspection", faulty)
    with TestClient(app, raise_server_exceptions=False) as client:
        headers = login_as(client, "inspector", TOWN_A)
        warm = inspection_body(unit)  # the token becomes known to this process
        assert client.post("/api/v1/inspections", json=warm, headers=headers).status_code == 201
        held = HeldWrite(monkeypatch)
        others = [inspection_body(unit, hazards=[hazard_body()]) for _ in range(3)]
        posts = [(inspection_body(unit), headers), (poison, headers)]
        posts += [(body, headers) for body in others]
        answers = held.post_all(client, posts)
    assert held.sizes == [1, 4]
    assert [a.status_code for a in answers] == [201, 500, 201, 201, 201]
    assert stored(poison["id"])[0] == 0
    for body in others:
        assert stored(body["id"])[:2] == (1, 1)
