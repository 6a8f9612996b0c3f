"""Writers and readers shared by the fault scripts."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import datetime, timedelta, timezone

import httpx

from tests.faults.harness import COUNTY, Stack

CST = timezone(timedelta(hours=8))


def finding(unit_id: str) -> dict:
    """An inspection of a unit finding one hazard, with client-chosen ids, a minute ago."""
    at = (datetime.now(CST) - timedelta(minutes=1)).isoformat()
    return {
        "id": str(uuid.uuid4()),
        "unit_id": unit_id,
        "kind": "routine",
        "inspected_at": at,
        "inspectors": ["张三"],
        "hazards": [
            {
                "id": str(uuid.uuid4()),
                "level": "general",
                "category": "exits",
                "description": "安全出口被堵塞",
                "handling": "deadline",
                "deadline": (datetime.now(CST) + timedelta(days=10)).isoformat(),
            }
        ],
    }


class Writers:
    """Threads posting findings until stopped; each keeps what it sent and what came back."""

    def __init__(self, stack: Stack, units: dict[str, list[str]], *, retry: bool) -> None:
        self.stack, self.units, self.retry = stack, units, retry
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.acknowledged: list[dict] = []  # bodies answered 2xx
        self.refused: list[tuple[int | str, str]] = []  # non-2xx answers (status, text)
        self.attempts = 0
        self.threads = [
            threading.Thread(target=self._run, args=(town,), daemon=True) for town in units
        ]

    def _run(self, town: str) -> None:
        headers = self.stack.token(f"town-{town}", "town-pass-1")
        i = 0
        with httpx.Client(base_url=self.stack.base, headers=headers, timeout=10) as client:
            while not self.stop.is_set():
                body = finding(self.units[town][i % len(self.units[town])])
                i += 1
                deadline = time.monotonic() + 120
                while True:
                    with self.lock:
                        self.attempts += 1
                    try:
                        r = client.post("/inspections", json=body)
                        status, text = r.status_code, r.text[:200]
                    except httpx.HTTPError as exc:
                        status, text = type(exc).__name__, str(exc)[:200]
                    if isinstance(status, int) and 200 <= status < 300:
                        with self.lock:
                            self.acknowledged.append(body)
                        break
                    with self.lock:
                        self.refused.append((status, text))
                    if not self.retry or time.monotonic() > deadline:
                        break
                    time.sleep(0.2)  # the same body, the same ids: a safe retry
                time.sleep(0.05)

    def start(self) -> Writers:
        for t in self.threads:
            t.start()
        return self

    def join(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=180)


def county_figures(stack: Stack, period: str) -> dict:
    headers = stack.token("county", "county-pass-1")
    r = httpx.get(
        f"{stack.base}/metrics", params={"period": period, "region": COUNTY}, headers=headers
    )
    r.raise_for_status()
    return r.json()


def hazards_found(figures: dict) -> int:
    return figures["metrics"]["hazards_found"]["count"]


def current_month() -> str:
    return datetime.now(CST).strftime("%Y-%m")
