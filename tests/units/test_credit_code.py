from __future__ import annotations

import random

import pytest

from services import credit_code
from services.errors import Invalid

# Published codes of real enterprises (GB 32100-2015 check characters).
PUBLISHED = ["91350100M000100Y43", "91440300708461136T"]


def make_code(body: str) -> str:
    """A code computed here from the standard's definition, independently of the module."""
    charset = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
    total = sum(charset.index(c) * w for c, w in zip(body, weights, strict=True))
    return body + charset[(31 - total % 31) % 31]


@pytest.mark.parametrize("code", PUBLISHED)
def test_published_codes_are_valid(code):
    assert credit_code.is_valid(code)
    assert credit_code.validate(code) == code


def test_codes_computed_from_the_algorithm_are_valid_and_every_other_check_char_is_not():
    rng = random.Random(7)
    for _ in range(200):
        body = "91" + "".join(rng.choice(credit_code.CHARSET) for _ in range(15))
        good = make_code(body)
        assert credit_code.check_char(body) == good[-1]
        assert credit_code.is_valid(good)
        for other in credit_code.CHARSET:
            if other != good[-1]:
                assert not credit_code.is_valid(body + other)


def test_check_value_31_becomes_zero():
    # A body whose weighted sum is divisible by 31 gets the check character '0'.
    assert credit_code.check_char("0" * 17) == "0"
    assert credit_code.is_valid("0" * 18)


def test_lowercase_and_blank_are_normalized():
    assert credit_code.validate("91350100m000100y43") == "91350100M000100Y43"
    assert credit_code.validate("  ") is None
    assert credit_code.validate(None) is None


@pytest.mark.parametrize(
    "code, reason",
    [
        ("91350100M000100Y44", "check character"),
        ("91350100M000100Y4", "18 characters"),
        ("91350100M000100Y433", "18 characters"),
        ("91350100M000100I43", "not allowed"),  # I, O, S, V, Z are not in the alphabet
        ("91350100O000100Y43", "not allowed"),
    ],
)
def test_bad_codes_name_the_field(code, reason):
    with pytest.raises(Invalid) as exc:
        credit_code.validate(code)
    assert exc.value.loc == ["credit_code"]
    assert reason in exc.value.reason
