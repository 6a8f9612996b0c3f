"""An open-loop (fixed arrival rate) HTTP/1.1 load generator on asyncio, for loopback only.

Request i is due at t0 + i / rate whatever happened to the others (an open model: a slow
server does not slow the arrivals down). Its latency is measured from when it was due, not
from when a connection became free, so queueing in the generator counts against the server
(no coordinated omission). Connections are kept alive and opened on demand up to a cap.
A bare asyncio client keeps the generator's own cost per request small on a 2-core machine
that it shares with the API and PostgreSQL; uvloop is used when installed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

try:  # pragma: no cover - the venv has it through uvicorn[standard]
    import uvloop
except ImportError:  # pragma: no cover
    uvloop = None


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)  # seconds, from due time
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0
    sent: int = 0
    late_starts: int = 0  # requests that waited for a connection more than 1 ms
    duration: float = 0.0
    first_error: str | None = None
    timeouts: int = 0

    @property
    def ok(self) -> int:
        return sum(n for s, n in self.statuses.items() if 200 <= s < 300)

    def rate(self) -> float:
        return self.ok / self.duration if self.duration else 0.0


class Connection:
    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            await self.open()
            return await self._exchange(raw)
        try:
            return await self._exchange(raw)
        except (asyncio.IncompleteReadError, ConnectionResetError) as exc:
            # A kept-alive connection the server closed while it sat idle (uvicorn drops
            # them after 5 s): nothing of an answer came, so send again on a new one, as
            # HTTP clients do. Safe here: every write the benchmarks send carries its ids.
            if isinstance(exc, asyncio.IncompleteReadError) and exc.partial:
                raise
            self.close()
            await self.open()
            return await self._exchange(raw)

    async def _exchange(self, raw: bytes) -> tuple[int, bytes]:
        assert self.reader and self.writer
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        chunked = False
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
        if chunked:
            body = b""
            while True:
                size = int((await self.reader.readline()).strip(), 16)
                if size == 0:
                    await self.reader.readline()
                    break
                body += await self.reader.readexactly(size)
                await self.reader.readline()
        else:
            body = await self.reader.readexactly(length) if length else b""
        return status, body

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def build(
    method: str, url: str, *, headers: dict[str, str] | None = None, body: bytes | None = None
) -> bytes:
    parts = urlsplit(url)
    path = parts.path + ("?" + parts.query if parts.query else "")
    lines = [f"{method} {path} HTTP/1.1", f"Host: {parts.netloc}", "Connection: keep-alive"]
    for k, v in (headers or {}).items():
        lines.append(f"{k}: {v}")
    if body is not None:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")


async def _open_loop(
    host: str,
    port: int,
    make_request: Callable[[int], bytes],
    *,
    rate: float,
    duration: float,
    max_connections: int,
    warmup: float,
    on_response: Callable[[int, int, bytes, float], None] | None,
) -> Result:
    result = Result()
    idle: list[Connection] = []
    opened = 0
    available = asyncio.Condition()
    total = int(rate * (duration + warmup))
    clock = time.perf_counter  # uvloop's loop.time() ticks in whole milliseconds
    t0 = clock() + 0.05
    tasks = []

    async def one(i: int, due: float) -> None:
        nonlocal opened
        async with available:
            while not idle and opened >= max_connections:
                await available.wait()
            if idle:
                conn = idle.pop()
            else:
                opened += 1
                conn = Connection(host, port)
        if clock() - due > 0.001:
            result.late_starts += 1
        try:
            status, body = await conn.request(make_request(i))
            if status >= 400 and result.first_error is None:
                result.first_error = f"{status} {body[:300]!r}"
            done = clock()
            if due - t0 >= warmup:
                result.latencies.append(done - due)
                result.statuses[status] = result.statuses.get(status, 0) + 1
            if on_response:
                on_response(i, status, body, done)
            async with available:
                idle.append(conn)
                available.notify()
        except Exception as exc:  # noqa: BLE001 - counted, and the connection is given back
            result.errors += 1
            if result.first_error is None:
                result.first_error = repr(exc)
            conn.close()
            async with available:
                opened -= 1
                available.notify()

    for i in range(total):
        due = t0 + i / rate
        delay = due - clock()
        # Behind schedule, still yield: without it the sender would create every remaining
        # request before any of them ran, and an overloaded run would complete nothing.
        await asyncio.sleep(max(delay, 0))
        tasks.append(asyncio.ensure_future(one(i, due)))
        result.sent += 1
    # An overloaded server leaves a queue behind: wait a bounded time for it, then count
    # what is still outstanding as timed out (at the latency it had reached).
    _, pending = await asyncio.wait(tasks, timeout=max(10.0, duration))
    end = clock()
    for i, task in enumerate(tasks):
        if task in pending:
            task.cancel()
            due = t0 + i / rate
            if due - t0 >= warmup:
                result.latencies.append(end - due)
            result.timeouts += 1
    result.duration = duration
    for c in idle:
        c.close()
    return result


def open_loop(
    url: str,
    make_request: Callable[[int], bytes],
    *,
    rate: float,
    duration: float,
    max_connections: int = 256,
    warmup: float = 1.0,
    on_response: Callable[[int, int, bytes, float], None] | None = None,
) -> Result:
    """Send make_request(i) at `rate` per second for `duration` seconds (after a warm-up)."""
    parts = urlsplit(url)
    assert parts.hostname in ("127.0.0.1", "localhost", "::1"), "loopback only"
    coro = _open_loop(
        parts.hostname,
        parts.port or 80,
        make_request,
        rate=rate,
        duration=duration,
        max_connections=max_connections,
        warmup=warmup,
        on_response=on_response,
    )
    if uvloop is not None:
        return uvloop.run(coro)
    return asyncio.run(coro)


def summary(result: Result) -> dict:
    from bench.common import pct

    lat = result.latencies
    return {
        "sent": result.sent,
        "ok": result.ok,
        "statuses": result.statuses,
        "errors": result.errors,
        "rps": round(result.rate(), 1),
        "p50_ms": round(pct(lat, 50) * 1000, 2),
        "p90_ms": round(pct(lat, 90) * 1000, 2),
        "p99_ms": round(pct(lat, 99) * 1000, 2),
        "max_ms": round(max(lat) * 1000, 2) if lat else None,
        "late_starts": result.late_starts,
        "timeouts": result.timeouts,
        "first_error": result.first_error,
    }


def now_ms() -> float:
    return time.perf_counter() * 1000
