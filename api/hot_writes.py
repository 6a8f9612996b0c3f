"""The phone's POST /api/v1/inspections, answered before FastAPI's routing and dependencies.

Inspectors' phones post each inspection with its hazards as it is recorded, the API's busiest
write. The rules of a new inspection are one function (services/inspections.check_inspection)
whichever path runs them; what this path saves is the framework around them: routing,
dependency solving, the thread hand-offs of a sync endpoint, SQLAlchemy's session and the
BEGIN and COMMIT of a transaction. Here it is two statements on the event loop, the checks'
read and the write, which is one statement and so atomic on its own (BENCHMARKS.md, figure 3).

Only the plain case is answered here: a JSON body that validates, sent with a token this process
knows, of a field worker, recording a new inspection. Anything else falls through to the route
with the body as it came: invalid input, a refusal by any rule, a replay of a stored id, a race
on an id, an unknown token. The route is the one place that answers those, and nothing of that
request has been written when it is reached.

POSTs that arrive while a write is in flight are written together next (`Batches`): one read
and one write for all of them, which costs PostgreSQL and the driver a little over half as much
per inspection at two, two fifths at four (BENCHMARKS.md, figure 3). A lone POST waits for
nothing.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

import anyio
import orjson
from psycopg import OperationalError
from psycopg_pool import PoolTimeout
from pydantic import ValidationError

from api import observability
from api.errors import unavailable
from api.hot_reads import known_caller
from api.routers.inspections import inspection_read
from api.schemas.hazards import InspectionCreate
from services import db, inspections
from services.actors import FIELD
from services.settings import get_settings
from worker import dispatch

PATH = "/api/v1/inspections"


def _plain_json(scope: Any) -> bool:
    """A JSON body of a stated length (what phones send); anything else takes the route."""
    kind = length = None
    for name, value in scope["headers"]:
        if name == b"content-type":
            kind = value.split(b";", 1)[0].strip().lower()
        elif name == b"content-length":
            length = value
    return kind == b"application/json" and length is not None


async def _body(receive: Any) -> bytes | None:
    """The whole request body, or None when the client went away before sending it."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replaying(body: bytes, receive: Any) -> Any:
    """A `receive` that hands the route the body already read, then the client's own."""
    pending = [{"type": "http.request", "body": body, "more_body": False}]

    async def replay() -> Any:
        return pending.pop() if pending else await receive()

    return replay


class HotWritesMiddleware:
    def __init__(self, app: Any, route: Any) -> None:
        # route: the FastAPI route this stands in for (its template labels the latency)
        self.app, self.route = app, route

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        caller = known_caller(scope, FIELD) if _plain_json(scope) else None
        if caller is None:
            await self.app(scope, receive, send)
            return
        body = await _body(receive)
        if body is None:
            return  # nobody to answer
        try:
            answer = await _record(caller, body)
        except (PoolTimeout, OperationalError):  # the database is busy or away: retry
            await unavailable()(scope, receive, send)
            return
        if answer is None:
            await self.app(scope, _replaying(body, receive), send)
            return
        observability.answered_by(scope, self.route)
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(answer))]
        await send({"type": "http.response.start", "status": 201, "headers": headers})
        await send({"type": "http.response.body", "body": answer})
        if dispatch.due():  # after the write's commit; the send blocks, so in a thread
            await anyio.to_thread.run_sync(dispatch.send_recompute)


async def _record(caller: Any, body: bytes) -> bytes | None:
    """The created inspection's JSON, or None for the route to answer."""
    try:
        data = InspectionCreate.model_validate(orjson.loads(body)).model_dump()
    except (orjson.JSONDecodeError, ValidationError):
        return None
    recorded = await Batches.of(db.hot_writer()).record(caller, data)
    if recorded is None:
        return None
    return inspection_read(None, recorded.inspection, recorded.hazards).model_dump_json().encode()


class Batches:
    """The event loop's new inspections, written one batch at a time.

    A POST that finds no write in flight starts one at once. Those that arrive while it runs
    wait for it, then go in the next batch together: under load a batch grows with the
    arrivals, and each inspection costs less, where separate writes would all compete for
    the same two cores. Every post of a batch is answered when the batch's write has ended,
    so a post that falls through to the route (a repeated id, say) reaches it after what the
    batch stored is committed, and the route sees it.
    """

    # Bounds one statement's size; a batch held 1.2-1.4 posts on average at 800-1,200 POSTs/s.
    MAX_POSTS = 50

    _by_pool: weakref.WeakKeyDictionary[Any, Batches] = weakref.WeakKeyDictionary()

    def __init__(self, pool: Any) -> None:
        self.pool = pool
        self.waiting: list[tuple[Any, dict, asyncio.Future]] = []
        self.writer: asyncio.Task | None = None
        # As long as a request may wait for one of the pool's connections (then 503, retry).
        self.wait_seconds = get_settings().admission_wait_seconds

    @classmethod
    def of(cls, pool: Any) -> Batches:
        """The batches of a pool (one pool per event loop, opened in the API's lifespan)."""
        batches = cls._by_pool.get(pool)
        if batches is None:
            batches = cls._by_pool[pool] = cls(pool)
        return batches

    async def record(self, caller: Any, data: dict) -> inspections.Recorded | None:
        loop = asyncio.get_running_loop()
        entry = (caller, data, loop.create_future())
        self.waiting.append(entry)
        if self.writer is None:
            self.writer = asyncio.ensure_future(self._write_all())
        timer = loop.call_later(self.wait_seconds, self._give_up, entry)
        try:
            return await entry[2]
        finally:
            timer.cancel()

    def _give_up(self, entry: tuple[Any, dict, asyncio.Future]) -> None:
        """A post still waiting for a write after the pool's wait (a write that hangs, a
        database that stopped answering): a 503 to retry, before anything of it is written.
        One that a write has taken already waits for that write's outcome."""
        for i, waiting in enumerate(self.waiting):
            if waiting is entry:
                del self.waiting[i]
                entry[2].set_exception(PoolTimeout("no write within the wait, retry"))
                return

    async def _write_all(self) -> None:
        batch: list[tuple[Any, dict, asyncio.Future]] = []
        try:
            while self.waiting:
                batch, self.waiting = self.waiting[: self.MAX_POSTS], self.waiting[self.MAX_POSTS :]
                await self._write(batch)
        finally:
            self.writer = None
            # Cancelled (the loop is closing): nobody will write what is left.
            for *_, future in batch + self.waiting:
                if not future.done():
                    future.cancel()
            self.waiting = []

    async def _write(self, batch: list[tuple[Any, dict, asyncio.Future]]) -> None:
        observability.POSTS_PER_WRITE.observe(len(batch))
        try:
            results = await inspections.record_new_inspections(
                self.pool, [(caller, data) for caller, data, _ in batch]
            )
        except Exception as exc:  # noqa: BLE001 - each post's request answers it (503, 500)
            for *_, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for (*_, future), recorded in zip(batch, results, strict=True):
            if not future.done():  # a request that was cancelled meanwhile
                future.set_result(recorded)
