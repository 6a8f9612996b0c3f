"""Client-chosen ids make retried writes safe: same id and content replays, other content is 409."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from services.errors import Conflict


def content_hash(payload: Any) -> str:
    """A stable digest of what the client sent (keys sorted, so field order does not matter)."""
    return hashlib.sha256(
        orjson.dumps(payload, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    ).hexdigest()


def check_replay(entity: str, stored_hash: str | None, new_hash: str) -> None:
    """Raise if a stored record with this id was created from different content."""
    if stored_hash != new_hash:
        raise Conflict(f"{entity} with this id already exists with different content")
