"""Read schemas: times go out in the configured zone, and a plain datetime field is refused."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from api.schemas.common import LocalDatetime, ReadModel


class Stamped(ReadModel):
    at: LocalDatetime
    maybe: LocalDatetime | None
    naive: LocalDatetime


def test_times_go_out_in_the_configured_zone():
    value = Stamped(
        at=datetime(2026, 9, 30, 16, 30, 0, 120000, tzinfo=UTC),
        maybe=None,
        naive=datetime(2026, 9, 30, 16, 30),
    )
    assert value.model_dump_json() == (
        '{"at":"2026-10-01T00:30:00.120000+08:00","maybe":null,"naive":"2026-09-30T16:30:00"}'
    )
    assert value.model_dump()["at"] == "2026-10-01T00:30:00.120000+08:00"


def test_a_plain_datetime_field_in_a_read_schema_is_refused():
    with pytest.raises(TypeError, match="LocalDatetime"):

        class Bare(ReadModel):  # noqa: F841
            at: datetime

    with pytest.raises(TypeError, match="LocalDatetime"):

        class BareOptional(ReadModel):  # noqa: F841
            at: datetime | None
