"""The dashboard's hot reads (GET /metrics and /metrics/breakdown, live): one statement per
request, summed cells and rendered JSON cached per process under the cells' stamps."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text

from api.routers.metrics import Breakdown, Figures
from services import db
from services.actors import SYSTEM
from services.db import unit_of_work
from services.metrics import read, refresh
from tests.builders import (
    COUNTY,
    TOWN_A,
    TOWN_B,
    VILLAGE_A1,
    VILLAGE_B1,
    login_as,
    make_region_tree,
    make_unit,
    make_user,
    token,
)
from tests.metrics.builders import add_hazard
from tests.metrics.reference import TZ

Q = "2025Q3"


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=TZ)


def seed() -> tuple:
    make_region_tree()
    a, b = make_unit(VILLAGE_A1), make_unit(VILLAGE_B1)
    with unit_of_work() as s:
        add_hazard(s, a, at(2025, 8, 1, 9), deadline=at(2025, 8, 2))
        add_hazard(s, b, at(2025, 8, 1, 9))
        add_hazard(s, make_unit(COUNTY), at(2025, 8, 3, 9))  # the county's own level
        refresh.recompute_all(s)
    return a, b


def general_path(kind: str, region: str) -> dict:
    """What the general (uncached) path renders, for comparison."""
    with unit_of_work() as s:
        scope = read.resolve(s, actor=SYSTEM, region=region, period=Q, view="live")
        if kind == "figures":
            return Figures.model_validate(read.figures(s, scope)).model_dump(mode="json")
        body = {
            "region_code": scope.region_code,
            "period": scope.period.key,
            "view": "live",
            "cutoff": scope.cutoff,
            "items": read.breakdown(s, scope),
        }
        return Breakdown.model_validate(body).model_dump(mode="json")


def without_cutoff(body: dict) -> dict:
    return {k: v for k, v in body.items() if k != "cutoff"}


def test_hot_reads_render_what_the_general_path_renders(client):
    seed()
    county = login_as(client, "county", COUNTY)
    for _ in range(2):  # a miss, then a hit from the cache
        r = client.get("/api/v1/metrics", params={"period": Q}, headers=county)
        assert r.status_code == 200 and r.headers["content-type"] == "application/json"
        assert without_cutoff(r.json()) == without_cutoff(general_path("figures", COUNTY))
        cutoff = datetime.fromisoformat(r.json()["cutoff"])
        assert abs((cutoff - datetime.now(UTC)).total_seconds()) < 5  # live: now, not cached
        assert r.json()["cutoff"].endswith("+08:00")
        r = client.get("/api/v1/metrics/breakdown", params={"period": Q}, headers=county)
        assert r.status_code == 200
        assert without_cutoff(r.json()) == without_cutoff(general_path("breakdown", COUNTY))
    items = r.json()["items"]
    assert [e["region_code"] for e in items] == [COUNTY, TOWN_B, TOWN_A]  # 100 %, 100 %, 0 %
    assert items[0]["region_name"] == "示范县（本级）"


def test_a_read_after_a_recompute_returns_the_new_figures(client, monkeypatch):
    a, _ = seed()
    sums = []
    read_all = db.HotPool.all

    async def counting(reader, statement, params):
        if statement in (read.SUMS_SQL, read.GROUPS_SQL):
            sums.append(params["code"])
        return await read_all(reader, statement, params)

    monkeypatch.setattr(db.HotPool, "all", counting)
    town_a = login_as(client, "township", TOWN_A)
    county = login_as(client, "county", COUNTY)

    def found(headers: dict, path: str = "/api/v1/metrics") -> int:
        r = client.get(path, params={"period": Q}, headers=headers)
        assert r.status_code == 200, r.text
        if path.endswith("breakdown"):
            return {e["region_code"]: e for e in r.json()["items"]}[TOWN_A]["metrics"][
                "hazards_found"
            ]["count"]
        return r.json()["metrics"]["hazards_found"]["count"]

    assert (found(town_a), found(county), found(county, "/api/v1/metrics/breakdown")) == (1, 3, 1)
    assert found(town_a) == 1 and sums == [TOWN_A, COUNTY, COUNTY]  # the second from cache
    with unit_of_work() as s:  # a write and the worker's recompute, committed
        add_hazard(s, a, at(2025, 8, 5, 9))
        refresh.recompute_marked(s)
        refresh.recompute_all(s, region=TOWN_A, period=Q)
    assert (found(town_a), found(county), found(county, "/api/v1/metrics/breakdown")) == (2, 4, 2)
    # Any committed change of a cell counts, whoever writes it.
    with unit_of_work() as s:
        s.execute(
            text(
                "UPDATE metric_cells SET found_general = found_general + 10 "
                "WHERE view = 'live' AND period = :p AND region_code = :r"
            ),
            {"p": Q, "r": VILLAGE_A1},
        )
    assert (found(town_a), found(county)) == (12, 14)
    with unit_of_work() as s:
        s.execute(
            text("DELETE FROM metric_cells WHERE view = 'live' AND region_code = :r"),
            {"r": VILLAGE_A1},
        )
    assert (found(town_a), found(county)) == (0, 2)


def test_callers_of_different_regions_never_share_an_entry(client):
    seed()
    town_a = login_as(client, "township", TOWN_A)
    town_b = login_as(client, "inspector", TOWN_B)
    for _ in range(2):
        ra = client.get("/api/v1/metrics", params={"period": Q}, headers=town_a)
        rb = client.get("/api/v1/metrics", params={"period": Q}, headers=town_b)
        assert (ra.json()["region_code"], rb.json()["region_code"]) == (TOWN_A, TOWN_B)
        assert ra.json()["region_name"] == "东镇" and rb.json()["region_name"] == "西镇"
        # Outside one's subtree stays 404, cached or not, figures and breakdown alike.
        for path in ("/api/v1/metrics", "/api/v1/metrics/breakdown"):
            for headers, region in ((town_a, TOWN_B), (town_b, TOWN_A), (town_a, COUNTY)):
                r = client.get(path, params={"period": Q, "region": region}, headers=headers)
                assert r.status_code == 404, (path, region, r.text)
    # A village below the caller's township is in scope; an unknown one is 404.
    r = client.get("/api/v1/metrics", params={"period": Q, "region": VILLAGE_A1}, headers=town_a)
    assert r.status_code == 200 and r.json()["metrics"]["hazards_found"]["count"] == 1
    r = client.get(
        "/api/v1/metrics", params={"period": Q, "region": "330102001099"}, headers=town_a
    )
    assert r.status_code == 404


def test_a_disabled_user_or_revoked_session_is_refused_at_once(client):
    seed()
    admin = login_as(client, "admin")
    user_id = make_user("dash-county", "county", COUNTY)
    headers = token(client, "dash-county")
    other = token(client, "dash-county")  # a second session of the same user
    for path in ("/api/v1/metrics", "/api/v1/metrics/breakdown"):
        assert client.get(path, params={"period": Q}, headers=headers).status_code == 200
    # A password change ends every session: the cached caller is checked by the read itself.
    r = client.patch(f"/api/v1/users/{user_id}", json={"password": "new-password-1"}, headers=admin)
    assert r.status_code == 200, r.text
    for h in (headers, other):
        for path in ("/api/v1/metrics", "/api/v1/metrics/breakdown"):
            r = client.get(path, params={"period": Q}, headers=h)
            assert r.status_code == 401 and r.json() == {"detail": "invalid or revoked token"}
    fresh = token(client, "dash-county", "new-password-1")
    assert client.get("/api/v1/metrics", params={"period": Q}, headers=fresh).status_code == 200
    # Disabling the user: refused at once, on the hot path and the general one (frozen view).
    r = client.patch(f"/api/v1/users/{user_id}", json={"active": False}, headers=admin)
    assert r.status_code == 200
    for params in ({"period": Q}, {"period": Q, "view": "frozen"}, {"period": "2025Q9"}):
        r = client.get("/api/v1/metrics", params=params, headers=fresh)
        assert r.status_code == 401, (params, r.text)
    # A unit user may not read figures: 403 as before.
    unit = login_as(client, "unit", VILLAGE_A1, unit_id=make_unit(VILLAGE_A1))
    assert client.get("/api/v1/metrics", params={"period": Q}, headers=unit).status_code == 403
    assert client.get("/api/v1/metrics", params={"period": Q}).status_code == 401


def test_the_plain_poll_is_answered_before_the_route_and_anything_else_by_the_route(
    client, monkeypatch
):
    """api/hot_reads.py answers a known token's plain poll itself; every other request (and
    every error) reaches the FastAPI route, whose answers stay the contract's."""
    from api.routers import metrics as route

    seed()
    county = login_as(client, "county", COUNTY)
    at_route = []
    hot_read = route._hot_read

    def counting(*args):
        at_route.append(args[1:])
        return hot_read(*args)

    monkeypatch.setattr(route, "_hot_read", counting)

    def get(path: str, params: list[tuple[str, str]], headers: dict = county):
        return client.get(path, params=params, headers={**headers, "X-Request-Id": "poll-1"})

    first = get("/api/v1/metrics", [("period", Q)])
    plain = [
        [("period", Q)],
        [("period", Q), ("region", COUNTY)],
        [("period", Q), ("view", "live")],
    ]
    for path in ("/api/v1/metrics", "/api/v1/metrics/breakdown"):
        for params in plain:
            r = get(path, params)
            assert r.status_code == 200 and r.headers["x-request-id"] == "poll-1"
            assert r.headers["content-type"] == "application/json"
            assert r.headers["content-length"] == str(len(r.content))
    assert at_route == [(None, Q, "live")]  # only the first: its token was not known yet
    assert without_cutoff(first.json()) == without_cutoff(general_path("figures", COUNTY))

    # Anything unusual goes to the route, which answers as before.
    r = get("/api/v1/metrics", [("period", Q), ("period", Q)])
    assert r.status_code == 200 and without_cutoff(r.json()) == without_cutoff(first.json())
    r = get("/api/v1/metrics", [("period", Q), ("unknown", "1")])
    assert r.status_code == 200
    r = get("/api/v1/metrics", [("period", "2025Q9")])
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "period"]
    r = get("/api/v1/metrics", [("period", Q), ("region", "33010")])
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "region"]
    r = get("/api/v1/metrics/breakdown", [("period", Q), ("view", "frozen")])
    assert r.status_code == 404  # the quarter is not frozen
    r = get("/api/v1/metrics", [])
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "period"]
    r = get("/api/v1/metrics", [("period", Q)], headers={"Authorization": "Bearer nonsense"})
    assert r.status_code == 401
    assert len(at_route) == 5  # the repeat, the unknown one, the two bad values, the frozen
    # The latency histogram names the route, on either path.
    scrape = client.get("/metrics").text
    assert 'route="/api/v1/metrics",status="200"' in scrape
    assert 'route="/api/v1/metrics/breakdown",status="200"' in scrape
