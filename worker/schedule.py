"""Beat's schedule: the periodic work of the figures, one entry each with why it exists."""

from __future__ import annotations

import os

from celery.schedules import crontab

BEAT_SCHEDULE = {
    # Freeze every ended, unfrozen quarter whose reporting deadline has passed. Hourly, so a
    # quarter is frozen within the hour after its deadline, and a missed run (beat down) is
    # made up by the next one. HAZARDTRACK_FREEZE_CHECK_SECONDS (a float) replaces the hour with
    # an interval, so operators and the two-beats fault drill can check more often.
    "freeze-due-quarters": {
        "task": "worker.tasks.freeze_due",
        "schedule": (
            float(os.environ["HAZARDTRACK_FREEZE_CHECK_SECONDS"])
            if os.environ.get("HAZARDTRACK_FREEZE_CHECK_SECONDS")
            else crontab(minute=7)
        ),
        "options": {"expires": 3000},
    },
    # Live overdue counts move with the clock, not only with writes: mark the buckets of open
    # hazards whose deadline passed since the last sweep (and a new month's first cells).
    "overdue-sweep": {
        "task": "worker.tasks.overdue_sweep",
        "schedule": 300.0,
        "options": {"expires": 280},
    },
    # Recompute any marks still waiting: covers writes whose wake-up was lost (broker outage,
    # an API process killed between commit and send).
    "catch-up": {
        "task": "worker.tasks.catch_up",
        "schedule": 30.0,
        "options": {"expires": 25},
    },
    # Nightly full recompute: roster edits (a unit's opening or closing date) can touch many
    # past quarters at once; this brings every live cell back in line with the records.
    "nightly-full-recompute": {
        "task": "worker.tasks.recompute_all",
        "schedule": crontab(hour=2, minute=30),
        "options": {"expires": 3600},
    },
}
