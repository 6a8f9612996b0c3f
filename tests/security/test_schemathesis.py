"""Schemathesis against the served OpenAPI document, with tokens of two townships.

Every operation gets generated requests (from the schema's examples and from fuzzing, valid and
invalid) under each township's token, and every response goes through all of schemathesis's
checks: no server error, a documented status code, content type and headers, a body that
matches the response schema, invalid data refused, valid data accepted. A stateful run then
chains operations through the links schemathesis infers (create a unit, read it, patch it …).

Valid data may still be refused with 422 for business rules a JSON schema cannot express (a
region that does not exist, a credit code whose check character is wrong, a quarter that has
not ended), so `positive_data_acceptance` accepts 422 besides its defaults.
"""

from __future__ import annotations

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck

from api.app import create_app
from tests.builders import (
    TOWN_A,
    TOWN_B,
    VILLAGE_A1,
    VILLAGE_B1,
    hazard_body,
    inspection_body,
    login_as,
    make_region_tree,
    make_unit,
)

MAX_EXAMPLES = 10
SETTINGS = hypothesis.settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,  # the same requests on every run
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)

schema = schemathesis.openapi.from_asgi("/openapi.json", create_app())
schema.config.phases.update(phases=["examples", "fuzzing", "stateful"])
schema.config.generation.update(max_examples=MAX_EXAMPLES, deterministic=True)
schema.config.checks.positive_data_acceptance.expected_statuses = [
    "2xx", "3xx", "401", "403", "404", "409", "422", "429"
]  # fmt: skip


@pytest.fixture
def townships(client):
    """Two townships, each with a unit, an inspection with a hazard, and a township user."""
    make_region_tree()
    headers = {}
    for name, town, village in (("A", TOWN_A, VILLAGE_A1), ("B", TOWN_B, VILLAGE_B1)):
        unit = make_unit(village)
        headers[name] = login_as(client, "township", town)
        body = inspection_body(unit, hazards=[hazard_body()])
        r = client.post("/api/v1/inspections", json=body, headers=headers[name])
        assert r.status_code == 201, r.text
    return headers


@pytest.mark.parametrize("township", ["A", "B"])
@schema.parametrize()
@SETTINGS
def test_every_operation(case, township, townships):
    case.call_and_validate(headers=townships[township])


@pytest.mark.parametrize("township", ["A", "B"])
def test_stateful(township, townships):
    machine = schema.as_state_machine()
    calls = []

    class Township(machine):
        def get_call_kwargs(self, case):
            calls.append(f"{case.method} {case.path}")
            return {"headers": townships[township]}

    Township.run(
        settings=hypothesis.settings(
            SETTINGS, max_examples=15, stateful_step_count=6, phases=[hypothesis.Phase.generate]
        )
    )
    # The run really chained operations: creations followed by reads of what they created.
    print(sorted(set(calls)))
    assert len(set(calls)) >= 5, calls
