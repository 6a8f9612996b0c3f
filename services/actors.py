"""Who is acting: the caller of a request or the system itself in a task."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

ROLES = ("admin", "county", "township", "inspector", "unit")
STAFF = ("admin", "county", "township", "inspector")
# Who records inspections and hazard events in the field (the county reads and supervises).
FIELD = ("admin", "township", "inspector")


@dataclass(frozen=True)
class Actor:
    user_id: uuid.UUID | None
    username: str
    role: str
    region_code: str | None  # None for admin: bound to no region
    unit_id: uuid.UUID | None = None

    @property
    def scope(self) -> str | None:
        """The root of the region subtree this actor may see."""
        return None if self.role == "admin" else self.region_code

    @property
    def is_unit(self) -> bool:
        return self.role == "unit"


SYSTEM = Actor(user_id=None, username="system", role="admin", region_code=None)
