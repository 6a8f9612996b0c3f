"""Valid unified social credit codes for tests, computed from GB 32100-2015's definition."""

from __future__ import annotations

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def with_check(body: str) -> str:
    total = sum(CHARSET.index(c) * w for c, w in zip(body, WEIGHTS, strict=True))
    return body + CHARSET[(31 - total % 31) % 31]


def code(n: int) -> str:
    """The n-th test code: an enterprise (91) registered in 330102, serial n."""
    return with_check(f"91330102MA2{n:06d}")


def wrong_check(valid: str) -> str:
    """The same code with a wrong check character."""
    return valid[:-1] + ("1" if valid[-1] != "1" else "2")
