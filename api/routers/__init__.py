"""Every router of the API, in the order they appear in the OpenAPI document."""

from api.routers import (
    audit,
    auth,
    campaigns,
    dashboard,
    hazards,
    health,
    inspections,
    metrics,
    reference,
    regions,
    self_reports,
    summary,
    sync,
    units,
    users,
)

ROUTERS = [
    health.router,
    auth.router,
    users.router,
    regions.router,
    reference.router,
    units.router,
    campaigns.router,
    inspections.router,
    hazards.router,
    sync.router,
    self_reports.router,
    metrics.router,
    audit.router,
    summary.router,
    dashboard.router,
]

# Tried first when a request is matched to its route (api/app.py): what dashboards poll and
# phones post. Matching walks the routers in order, and FastAPI's nested matching of the
# included routers was a third of a dashboard read's CPU when these came eleventh
# (BENCHMARKS.md, figure 4). No route of theirs matches another router's paths
# (tests/test_routes.py), so the order changes which route answers nothing.
HOT = [health.router, metrics.router, inspections.router, sync.router]
