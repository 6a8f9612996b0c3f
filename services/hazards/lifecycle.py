"""The hazard lifecycle table of domain.md, as data: one place for every allowed move.

| event                | from                              | to          | who                       |
| start_rectification  | reported                          | rectifying  | unit, township, inspector |
| submit_rectification | reported, rectifying              | rectified   | unit, township, inspector |
| verify (销号)        | reported, rectifying, rectified   | closed      | inspector, township       |
| reject               | rectified                         | rectifying  | inspector, township       |
| extend (延期)        | any open, before the deadline     | same        | township, county          |
| supervise (挂牌督办) | any open                          | same        | county                    |
| transfer (移送)      | any open                          | same        | township                  |
| void                 | any but voided                    | voided      | inspector, township, county |

Admins may do everything. A move not in the table is refused and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

OPEN_STATES = frozenset({"reported", "rectifying", "rectified"})
ALL_STATES = OPEN_STATES | {"closed", "voided"}


@dataclass(frozen=True)
class Transition:
    sources: frozenset[str]
    target: str | None  # None: the state stays as it is
    roles: frozenset[str]


def _t(sources, target, *roles) -> Transition:
    return Transition(frozenset(sources), target, frozenset(roles) | {"admin"})


TRANSITIONS: dict[str, Transition] = {
    "start_rectification": _t({"reported"}, "rectifying", "unit", "township", "inspector"),
    "submit_rectification": _t(
        {"reported", "rectifying"}, "rectified", "unit", "township", "inspector"
    ),
    "verify": _t(OPEN_STATES, "closed", "inspector", "township"),
    "reject": _t({"rectified"}, "rectifying", "inspector", "township"),
    "extend": _t(OPEN_STATES, None, "township", "county"),
    "supervise": _t(OPEN_STATES, None, "county"),
    "transfer": _t(OPEN_STATES, None, "township"),
    "void": _t(OPEN_STATES | {"closed"}, "voided", "inspector", "township", "county"),
}

EVENT_TYPES = tuple(TRANSITIONS)


def is_overdue(
    *, status: str, deadline: datetime | None, submitted_at: datetime | None, at: datetime
) -> bool:
    """Overdue at `at`: open, past its deadline, and not awaiting verification of a fix
    submitted on or before that deadline. The figures' rule (definitions.overdue_after, kept
    on the row), in Python for the records a write renders without reading them back."""
    if status not in OPEN_STATES or deadline is None or deadline >= at:
        return False
    awaiting_timely_fix = (
        status == "rectified" and submitted_at is not None and submitted_at <= deadline
    )
    return not awaiting_timely_fix
