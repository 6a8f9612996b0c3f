"""Unified social credit codes (统一社会信用代码), GB 32100-2015: 18 characters, last one a check."""

from __future__ import annotations

from services.errors import Invalid

# The code's alphabet: digits and capitals without I, O, Z, S, V (GB 32100-2015, table 1).
CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
VALUES = {c: i for i, c in enumerate(CHARSET)}
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
LENGTH = 18


def check_char(body: str) -> str:
    """The check character for the first 17 characters of a code."""
    if len(body) != LENGTH - 1 or any(c not in VALUES for c in body):
        raise ValueError("body must be 17 characters from the code's alphabet")
    total = sum(VALUES[c] * w for c, w in zip(body, WEIGHTS, strict=True))
    check = 31 - total % 31
    return CHARSET[0 if check == 31 else check]


def normalize(code: str | None) -> str | None:
    """Upper-case and strip; an empty code is no code (small venues have none)."""
    if code is None:
        return None
    code = code.strip().upper()
    return code or None


def problem(code: str) -> str | None:
    """Why `code` (normalized) is not a valid credit code, or None when it is."""
    if len(code) != LENGTH:
        return f"must be {LENGTH} characters"
    bad = sorted({c for c in code if c not in VALUES})
    if bad:
        return f"contains characters not allowed in a credit code: {''.join(bad)}"
    expected = check_char(code[:-1])
    if code[-1] != expected:
        return f"wrong check character {code[-1]!r} (GB 32100-2015 gives {expected!r})"
    return None


def is_valid(code: str) -> bool:
    return problem(code) is None


def validate(code: str | None, field: str | list[str | int] = "credit_code") -> str | None:
    """The normalized code, None for an empty one, or Invalid naming `field`."""
    code = normalize(code)
    if code is None:
        return None
    reason = problem(code)
    if reason:
        raise Invalid(field, reason)
    return code
