"""All tables, one module per aggregate, on one declarative base."""

from services.models.audit import AuditEntry
from services.models.base import Base
from services.models.campaigns import Campaign
from services.models.hazards import Hazard, HazardEvent, Photo
from services.models.inspections import Inspection
from services.models.metrics import (
    FrozenQuarter,
    FrozenRoster,
    MetricCell,
    MetricVersion,
    TaskRun,
)
from services.models.outbox import MetricMark
from services.models.reference import HazardCategory, UnitKind
from services.models.regions import Region
from services.models.self_reports import SelfReport, SelfReportVersion
from services.models.units import Unit, UnitStatusChange
from services.models.users import LoginFailure, RefreshToken, User

__all__ = [
    "AuditEntry",
    "Base",
    "Campaign",
    "FrozenQuarter",
    "FrozenRoster",
    "Hazard",
    "HazardCategory",
    "HazardEvent",
    "Inspection",
    "LoginFailure",
    "MetricCell",
    "MetricMark",
    "MetricVersion",
    "Photo",
    "RefreshToken",
    "Region",
    "SelfReport",
    "SelfReportVersion",
    "TaskRun",
    "Unit",
    "UnitKind",
    "UnitStatusChange",
    "User",
]
