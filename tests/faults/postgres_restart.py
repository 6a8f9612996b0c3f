"""Restart PostgreSQL (immediate mode) while clients post findings and retry with the same ids.

python -m tests.faults.postgres_restart [--restarts 1]
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime

import httpx

from tests.faults.common import Writers
from tests.faults.harness import Results, Stack, seed


def run(restarts: int = 1, serve_within: float = 10) -> int:
    res = Results(f"PostgreSQL restarted in immediate mode {restarts}x while findings are posted")
    with Stack() as stack:
        world = seed(stack)
        now = datetime.now(UTC)
        dashboard = f"{stack.base}/metrics?period={now.year}Q{(now.month - 1) // 3 + 1}"
        county = stack.token("county", "county-pass-1")
        read_answers: list[object] = []

        def reads() -> bool:
            """The county's dashboard poll (the hot path's async pool, api/hot_reads.py)."""
            try:
                r = httpx.get(dashboard, headers=county, timeout=2)
            except httpx.HTTPError:
                read_answers.append("dropped")
                return False
            read_answers.append(r.status_code)
            return r.status_code == 200

        for _ in range(20):  # every API process knows the token and has pooled connections
            reads()
        writers = Writers(stack, world["units"], retry=True).start()
        for _ in range(restarts):
            time.sleep(3)
            res.note("pg_ctl restart -m immediate")
            stack.pg_ctl("restart", "-m", "immediate")
            back = time.monotonic()

            def serves() -> bool:
                r = httpx.get(f"{stack.base}/units", headers=stack.token(), timeout=2)
                return r.status_code == 200

            for what, works in (("the API serves", serves), ("the dashboard's reads serve", reads)):
                took = stack.wait_until(works, timeout=60, every=0.2)
                since = None if took is None else time.monotonic() - back
                res.check(
                    since is not None and since <= serve_within,
                    f"{what} again within {serve_within:g} s, not restarted",
                    f"{since:.1f} s" if since is not None else "never",
                )
        res.check(
            all(a in (200, 503, "dropped") for a in read_answers),
            "the dashboard's reads answer 200, or 503 while the database is away (no 500)",
            sorted({str(a) for a in read_answers}),
        )
        time.sleep(3)
        writers.join()
        sent = writers.acknowledged
        errors = sorted({str(s) for s, _ in writers.refused})
        res.note(
            f"{writers.attempts} attempts, {len(sent)} acknowledged, retried answers: {errors}"
        )
        res.check(
            all(s in (409, 503) or not isinstance(s, int) for s, _ in writers.refused),
            "no 500 during the restart (503 or a dropped connection, then a retry)",
            [x for x in writers.refused if x[0] not in (409, 503) and isinstance(x[0], int)][:3],
        )
        ids = [b["id"] for b in sent]
        rows = dict(stack.sql(
            "SELECT id::text, count(*) FROM inspections WHERE id = ANY(%s::uuid[]) GROUP BY id", ids
        ))  # fmt: skip
        res.check(all(rows.get(i) == 1 for i in ids), "every acknowledged finding is stored",
                  f"{sum(1 for i in ids if rows.get(i) == 1)}/{len(ids)}")  # fmt: skip
        hazards = [b["hazards"][0]["id"] for b in sent]
        dup = stack.sql(
            "SELECT count(*) - count(DISTINCT id) FROM hazards WHERE id = ANY(%s::uuid[])", hazards
        )[0][0]
        stored = stack.sql("SELECT count(*) FROM hazards WHERE id = ANY(%s::uuid[])", hazards)[0][0]
        res.check(dup == 0 and stored == len(hazards), "…and exactly once (hazards too)",
                  f"{stored} hazards for {len(hazards)} acknowledged")  # fmt: skip
        total = stack.sql("SELECT count(*) FROM inspections")[0][0]
        res.check(total <= writers.attempts, "no inspection stored that no client sent", total)
    return res.exit_code()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--restarts", type=int, default=1)
    p.add_argument("--serve-within", type=float, default=10)
    a = p.parse_args(argv)
    return run(a.restarts, a.serve_within)


if __name__ == "__main__":
    sys.exit(main())
