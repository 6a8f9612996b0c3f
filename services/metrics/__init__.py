"""The county's figures: definitions, computation into cells, refresh, and reads."""

from services.metrics.refresh import (
    freeze_quarter,
    overdue_sweep,
    recompute_all,
    recompute_marked,
)

__all__ = ["freeze_quarter", "overdue_sweep", "recompute_all", "recompute_marked"]
