"""Run every fault script against its own private stack: python -m tests.faults.run_all

Options are passed through: --quick shortens the Redis outage to 5 s, kills the worker once and
runs the two beats for 20 s.
"""

from __future__ import annotations

import sys

from tests.faults import kill_worker, postgres_restart, redis_outage, two_beats


def main(argv: list[str] | None = None) -> int:
    quick = "--quick" in (argv if argv is not None else sys.argv[1:])
    codes = [
        kill_worker.run(kills=1 if quick else 3),
        redis_outage.run(seconds=5 if quick else 60),
        postgres_restart.run(restarts=1 if quick else 2),
        two_beats.run(seconds=20 if quick else 35),
    ]
    failed = sum(1 for c in codes if c)
    print(f"\n{len(codes) - failed} of {len(codes)} fault scripts passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
