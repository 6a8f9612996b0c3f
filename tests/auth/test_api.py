from __future__ import annotations

from tests.builders import COUNTY, TOWN_A, TOWN_B, login_as, make_region_tree, make_user, token


def test_login_refresh_and_me(client):
    make_region_tree()
    make_user("zhang", "township", TOWN_A)
    r = client.post("/api/v1/auth/token", data={"username": "zhang", "password": "correct-horse-1"})
    assert r.status_code == 200
    pair = r.json()
    assert pair["token_type"] == "bearer" and pair["expires_in"] > 0
    me = client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {pair['access_token']}"})
    assert me.json()["username"] == "zhang" and me.json()["region_code"] == TOWN_A

    again = client.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert again.status_code == 200
    # A refresh token is single-use: the rotation revoked it.
    replay = client.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert replay.status_code == 401


def test_no_token_is_401_and_bad_token_is_401(client):
    assert client.get("/api/v1/users/me").status_code == 401
    r = client.get("/api/v1/users/me", headers={"Authorization": "Bearer nonsense"})
    assert r.status_code == 401


def test_failed_logins_are_limited_per_username(client):
    make_region_tree()
    make_user("li", "inspector", TOWN_A)
    for _ in range(5):
        r = client.post("/api/v1/auth/token", data={"username": "li", "password": "wrong-pass"})
        assert r.status_code == 401
    r = client.post("/api/v1/auth/token", data={"username": "li", "password": "correct-horse-1"})
    assert r.status_code == 429


def test_deactivating_a_user_ends_its_sessions(client):
    make_region_tree()
    admin = login_as(client, "township", TOWN_A)
    uid = make_user("wang", "inspector", TOWN_A)
    r = client.post("/api/v1/auth/token", data={"username": "wang", "password": "correct-horse-1"})
    pair = r.json()
    headers = {"Authorization": f"Bearer {pair['access_token']}"}
    assert client.get("/api/v1/users/me", headers=headers).status_code == 200
    assert (
        client.patch(f"/api/v1/users/{uid}", json={"active": False}, headers=admin).status_code
        == 200
    )
    assert client.get("/api/v1/users/me", headers=headers).status_code == 401
    assert (
        client.post(
            "/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]}
        ).status_code
        == 401
    )


def test_user_creation_rules(client):
    make_region_tree()
    county = login_as(client, "county", COUNTY)
    town_a = login_as(client, "township", TOWN_A)
    inspector = login_as(client, "inspector", TOWN_A)
    body = {
        "username": "new1",
        "password": "long-enough-1",
        "role": "inspector",
        "region_code": TOWN_A,
    }
    assert client.post("/api/v1/users", json=body, headers=county).status_code == 201
    # A township may not create users in another township (an unknown region to it).
    body_b = {**body, "username": "new2", "region_code": TOWN_B}
    r = client.post("/api/v1/users", json=body_b, headers=town_a)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "region_code"]
    # Inspectors may not create users at all; townships may not create county users.
    assert (
        client.post("/api/v1/users", json={**body, "username": "n3"}, headers=inspector).status_code
        == 403
    )
    r = client.post(
        "/api/v1/users", json={**body, "username": "n4", "role": "county"}, headers=town_a
    )
    assert r.status_code == 403
    assert client.post("/api/v1/users", json=body, headers=county).status_code == 409  # same name
    r = client.post("/api/v1/users", json={**body, "username": "n5", "extra": 1}, headers=county)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "extra"]


def test_password_is_argon2_hashed(client, session):
    from services.models import User

    make_region_tree()
    make_user("hash", "inspector", TOWN_A)
    user = session.query(User).filter_by(username="hash").one()
    assert user.password_hash.startswith("$argon2")
    token(client, "hash")


def test_a_known_token_is_refused_on_the_next_write_once_revoked(client):
    """The caller of a token seen before comes from the token; the one check statement still
    refuses a disabled user or a bumped token version on the very next write."""
    from tests.builders import VILLAGE_A1, inspection_body, make_unit

    make_region_tree()
    manager = login_as(client, "township", TOWN_A)
    unit = make_unit(VILLAGE_A1)
    for change in ({"password": "another-horse-2"}, {"active": False}):
        name = f"zhao-{next(iter(change))}"
        uid = make_user(name, "inspector", TOWN_A)
        headers = token(client, name)
        first = client.post("/api/v1/inspections", json=inspection_body(unit), headers=headers)
        assert first.status_code == 201, first.text  # the token is now known to the process
        r = client.patch(f"/api/v1/users/{uid}", json=change, headers=manager)
        assert r.status_code == 200, r.text
        again = client.post("/api/v1/inspections", json=inspection_body(unit), headers=headers)
        assert again.status_code == 401, again.text
        assert client.get("/api/v1/users/me", headers=headers).status_code == 401
    # A role that may not record inspections still gets 403, on a known token too.
    county = login_as(client, "county", COUNTY)
    for _ in range(2):
        r = client.post("/api/v1/inspections", json=inspection_body(unit), headers=county)
        assert r.status_code == 403, r.text


def test_county_and_township_users_manage_only_the_roles_below_them(client):
    """api.md: they create users below them. Until session 14 a township official could
    create township users and reset a colleague's password, then act (and be audited) as that
    colleague; a county user could deactivate other county users."""
    make_region_tree()
    county = login_as(client, "county", COUNTY)
    town_a = login_as(client, "township", TOWN_A)
    peer_town = make_user("peer-town", "township", TOWN_A)
    peer_county = make_user("peer-county", "county", COUNTY)
    inspector = make_user("an-inspector", "inspector", TOWN_A)
    new = {"username": "t2", "password": "long-enough-1", "role": "township"}
    r = client.post("/api/v1/users", json={**new, "region_code": TOWN_A}, headers=town_a)
    assert r.status_code == 403, r.text
    r = client.post(
        "/api/v1/users",
        json={**new, "username": "c2", "role": "county", "region_code": COUNTY},
        headers=county,
    )
    assert r.status_code == 403, r.text
    reset = {"password": "taken-over-1"}
    assert client.patch(f"/api/v1/users/{peer_town}", json=reset, headers=town_a).status_code == 403
    r = client.patch(f"/api/v1/users/{peer_county}", json={"active": False}, headers=county)
    assert r.status_code == 403
    # Below them, as before: the county a township user, the township an inspector.
    r = client.post("/api/v1/users", json={**new, "region_code": TOWN_A}, headers=county)
    assert r.status_code == 201, r.text
    assert client.patch(f"/api/v1/users/{inspector}", json=reset, headers=town_a).status_code == 200


def test_wrong_passwords_sent_side_by_side_are_limited_as_one_after_another(client):
    """Checked side by side, 25 guesses all saw fewer than the allowed failures and 8 were
    tried against a limit of 5 (found in review, session 14)."""
    import threading

    from sqlalchemy import func, select

    from services.db import unit_of_work
    from services.models import LoginFailure
    from services.settings import get_settings

    make_region_tree()
    make_user("victim", "inspector", TOWN_A)
    statuses: list[int] = []
    start = threading.Barrier(12)

    def guess(i: int) -> None:
        start.wait()
        r = client.post("/api/v1/auth/token", data={"username": "victim", "password": f"guess-{i}"})
        statuses.append(r.status_code)

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    limit = get_settings().login_max_failures
    assert sorted(statuses) == [401] * limit + [429] * (12 - limit), statuses
    with unit_of_work() as session:
        recorded = session.scalar(
            select(func.count()).select_from(LoginFailure).where(LoginFailure.username == "victim")
        )
    assert recorded == limit


def test_a_login_no_user_can_have_is_422_naming_the_field(client):
    for data, field in (
        ({"username": "x" * 101, "password": "whatever-1"}, "username"),
        ({"username": "a\x00b", "password": "whatever-1"}, "username"),
        ({"username": "someone", "password": "what\x00ever"}, "password"),
    ):
        r = client.post("/api/v1/auth/token", data=data)
        assert r.status_code == 422, r.text
        assert r.json()["detail"][0]["loc"] == ["body", field]
