"""Trying the hot routers first (api/app.py) must not change which route answers a path."""

import inspect
import re

from fastapi.routing import APIRoute

from api.app import create_app
from api.routers import HOT, ROUTERS


def _sample(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", path)


def test_no_hot_route_matches_a_path_of_another_router():
    """Hot routers move ahead of every other router, and among themselves (metrics now comes
    before inspections and sync): no route of theirs may match another router's paths."""
    for router in HOT:
        others = [r for other in ROUTERS if other is not router for r in other.routes]
        for hot in router.routes:
            for route in others:
                assert not hot.path_regex.match(_sample(route.path)), (hot.path, route.path)
                assert not route.path_regex.match(_sample(hot.path)), (route.path, hot.path)


def test_the_hot_routers_are_matched_first_and_documented_in_order():
    app = create_app()
    first = [getattr(r, "original_router", None) for r in app.router.routes[: len(HOT)]]
    assert first == HOT
    documented = list(app.openapi()["paths"])
    in_order = [
        r.path
        for router in ROUTERS
        for r in router.routes
        if isinstance(r, APIRoute) and r.include_in_schema
    ]
    assert documented[: len(set(in_order))] == list(dict.fromkeys(in_order))


def _dependency_calls(dependant) -> set:
    return {d.call for d in dependant.dependencies}


def test_no_async_endpoint_holds_the_blocking_database_session():
    """An `async def` endpoint runs on the event loop: were it to use the SQLAlchemy session
    (`Db`, blocking psycopg calls), every other request of its API process would wait until it
    returned. The unit import did, for the seconds a large workbook takes."""
    from api.deps import get_db

    routes = [route for router in ROUTERS for route in router.routes]
    assert len(routes) > 50  # every router's routes are looked at
    offenders = [
        route.path
        for route in routes
        if isinstance(route, APIRoute)
        and inspect.iscoroutinefunction(route.endpoint)
        and get_db in _dependency_calls(route.dependant)
    ]
    assert offenders == []
