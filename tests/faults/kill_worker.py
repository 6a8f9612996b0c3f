"""SIGKILL the worker in the middle of a full recompute, repeatedly, then restart it.

    python -m tests.faults.kill_worker [--kills 3]

Recovery must come from what PostgreSQL keeps (the run's slices, the figure marks), not from the
broker redelivering the lost task an hour later.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time

import httpx

from tests.faults.common import Writers, current_month
from tests.faults.harness import COUNTY, Results, Stack, live_cells, marks_pending, seed


def run(kills: int = 3, recover_within: float = 120) -> int:
    res = Results(f"worker SIGKILLed {kills}x during a full recompute")
    with Stack() as stack:
        world = seed(stack)
        writers = Writers(stack, world["units"], retry=False).start()
        time.sleep(5)
        writers.join()
        stack.wait_until(lambda: marks_pending(stack) == 0, timeout=60)
        admin = stack.token()
        month = current_month()
        served: list[dict] = []
        stop = threading.Event()

        def read() -> None:  # what a dashboard sees while the worker is killed
            with httpx.Client(base_url=stack.base, headers=admin, timeout=10) as c:
                while not stop.is_set():
                    r = c.get("/metrics", params={"period": month, "region": COUNTY})
                    if r.status_code == 200:
                        served.append(r.json()["metrics"])
                    time.sleep(0.05)

        before = (
            stack.wait_until(lambda: True, 1)
            and httpx.get(
                f"{stack.base}/metrics", params={"period": month, "region": COUNTY}, headers=admin
            ).json()["metrics"]
        )
        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        task = None
        for i in range(kills):
            r = httpx.post(f"{stack.base}/metrics/recompute", json={}, headers=admin)
            task = r.json()["task_id"]
            time.sleep(0.3 + 0.2 * i)
            res.note(f"kill {i + 1}: SIGKILL to the worker and its pool")
            stack.kill("worker")
            time.sleep(1)
            stack.start_worker()

        def finished() -> bool:
            t = httpx.get(f"{stack.base}/tasks/{task}", headers=admin).json()
            return t["status"] in ("succeeded", "failed") and marks_pending(stack) == 0

        took = stack.wait_until(finished, timeout=recover_within)
        status = httpx.get(f"{stack.base}/tasks/{task}", headers=admin).json()
        res.check(
            took is not None and status["status"] == "succeeded",
            "the last full recompute finished after the restarts (from PostgreSQL's marks)",
            f"{status['status']} after {took:.0f} s" if took else f"{status['status']}, {status}",
        )
        stop.set()
        reader.join()
        after_kills = live_cells(stack)
        stack.hazardtrack("recompute")  # a fresh recompute, in one process, no faults
        fresh = live_cells(stack)
        res.check(after_kills == fresh, "the figures equal a fresh recompute",
                  f"{len(after_kills)} cells; differing: "
                  f"{[k for k in fresh if after_kills.get(k) != fresh[k]][:3]}")  # fmt: skip
        total = stack.sql("SELECT count(*) FROM hazards")[0][0]
        counted = sum(
            row["found_general"] + row["found_major"]
            for key, row in fresh.items()
            if row["period"] == month
        )
        res.check(counted == total, "no bucket lost or counted twice", f"{counted} of {total}")
        odd = [m for m in served if m != before]
        res.check(not odd, "no half-written figures were ever served",
                  f"{len(served)} reads, {len(odd)} differing")  # fmt: skip
    return res.exit_code()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--kills", type=int, default=3)
    a = p.parse_args(argv)
    return run(a.kills)


if __name__ == "__main__":
    sys.exit(main())
