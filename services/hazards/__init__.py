"""Hazards (事故隐患) and their closed-loop lifecycle."""

from services.hazards.lifecycle import OPEN_STATES, TRANSITIONS, is_overdue
from services.hazards.service import (
    apply_event,
    create_hazard,
    get_hazard,
    list_events,
    list_hazards_stmt,
    set_governance_plan,
)

__all__ = [
    "OPEN_STATES",
    "TRANSITIONS",
    "apply_event",
    "create_hazard",
    "get_hazard",
    "is_overdue",
    "list_events",
    "list_hazards_stmt",
    "set_governance_plan",
]
