"""Stop Redis while findings are being posted; everything is accepted and the figures catch up.

python -m tests.faults.redis_outage [--seconds 60]
"""

from __future__ import annotations

import argparse
import sys
import time

from tests.faults.common import Writers, county_figures, current_month, hazards_found
from tests.faults.harness import Results, Stack, marks_pending, seed


def run(seconds: float = 60, catch_up_timeout: float = 120) -> int:
    res = Results(f"redis outage of {seconds:g} s while findings are posted")
    with Stack() as stack:
        world = seed(stack)
        writers = Writers(stack, world["units"], retry=False).start()
        time.sleep(3)
        res.note("stopping Redis")
        stack.stop_redis()
        time.sleep(seconds)
        res.note("starting Redis again")
        stack.start_redis()
        time.sleep(3)
        writers.join()
        sent = writers.acknowledged
        res.note(f"{writers.attempts} posts, {len(sent)} acknowledged")
        res.note(
            f"processes restarted by the supervisor (systemd Restart=): {stack.restarts or 'none'}"
        )
        res.check(
            not any(r.startswith("worker") for r in stack.restarts),
            "the worker rode out the outage without a restart",
            stack.restarts or "no restarts",
        )
        res.check(not writers.refused, "every finding was accepted (2xx)", writers.refused[:3])
        ids = [b["hazards"][0]["id"] for b in sent]
        stored = stack.sql("SELECT count(*) FROM hazards WHERE id = ANY(%s::uuid[])", ids)[0][0]
        res.check(
            stored == len(ids), "every acknowledged finding is stored", f"{stored}/{len(ids)}"
        )
        total = stack.sql("SELECT count(*) FROM hazards")[0][0]
        res.check(total == len(ids), "nothing stored twice or unasked", f"{total} rows")
        month = current_month()

        def caught_up() -> bool:
            return (
                marks_pending(stack) == 0 and hazards_found(county_figures(stack, month)) == total
            )

        took = stack.wait_until(caught_up, timeout=catch_up_timeout)
        res.check(
            took is not None,
            "figures caught up after Redis returned, without anyone acting",
            f"in {took:.0f} s" if took is not None else
            f"after {catch_up_timeout:g} s: {marks_pending(stack)} marks waiting, "
            f"{hazards_found(county_figures(stack, month))} of {total} hazards counted",
        )  # fmt: skip
    return res.exit_code()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--catch-up-timeout", type=float, default=120)
    a = p.parse_args(argv)
    return run(a.seconds, a.catch_up_timeout)


if __name__ == "__main__":
    sys.exit(main())
