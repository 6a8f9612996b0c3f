"""A route whose JSON request bodies are decoded by orjson instead of the standard library.

For the routers that take large bodies from phones (a /sync batch is up to 500 inspections,
~300 KB). orjson's JSONDecodeError is a subclass of the standard one, so FastAPI answers a
body that is not JSON with the same 422 `json_invalid` as before.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from fastapi import Request, Response
from fastapi.routing import APIRoute


class OrjsonRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = orjson.loads(await self.body())
        return self._json


class OrjsonRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Any]:
        handler = super().get_route_handler()

        async def route_handler(request: Request) -> Response:
            return await handler(OrjsonRequest(request.scope, request.receive))

        return route_handler
