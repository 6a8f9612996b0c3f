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
