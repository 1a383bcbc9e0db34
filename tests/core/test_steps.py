"""The service matrix and the step state machine, against the seed's table."""

from __future__ import annotations

import pytest

from commands.core.process import (
    SERVICE_ALIASES,
    SERVICE_MATRIX,
    Service,
    Step,
    StepState,
    TransitionError,
    applies,
    initial_state,
    transition,
)

# The seed's table, row by row, in its column order: RFI, outbound, recipient validation,
# journaling, inbound, firewall.
SEED_TABLE = {
    Service.ARCHIVING: "Y N Y Y N N",
    Service.SECURITY: "Y Y Y N Y Y",
    Service.BOTH: "Y Y Y Y Y Y",
}


def test_steps_are_in_the_seeds_order() -> None:
    assert [s.value for s in Step] == [
        "rfi",
        "outbound",
        "recipients",
        "journaling",
        "inbound",
        "firewall",
    ]


@pytest.mark.parametrize("service", list(Service))
def test_service_matrix_matches_the_seed(service: Service) -> None:
    expected = [flag == "Y" for flag in SEED_TABLE[service].split()]
    assert [applies(service, step) for step in Step] == expected
    assert len(SERVICE_MATRIX[service]) == expected.count(True)


def test_email_security_is_an_alias_of_security() -> None:
    assert SERVICE_ALIASES["email-security"] is Service.SECURITY
    assert SERVICE_ALIASES["security"] is Service.SECURITY


def test_initial_states_follow_the_matrix() -> None:
    assert initial_state(Service.ARCHIVING, Step.OUTBOUND) is StepState.NOT_APPLICABLE
    assert initial_state(Service.ARCHIVING, Step.JOURNALING) is StepState.NOT_STARTED
    assert initial_state(Service.SECURITY, Step.JOURNALING) is StepState.NOT_APPLICABLE


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (StepState.NOT_STARTED, StepState.DONE),
        (StepState.NOT_STARTED, StepState.IN_PROGRESS),
        (StepState.IN_PROGRESS, StepState.DONE),
        (StepState.DONE, StepState.IN_PROGRESS),
    ],
)
def test_allowed_moves(current: StepState, target: StepState) -> None:
    assert transition(Step.OUTBOUND, current, target) is target


@pytest.mark.parametrize(
    ("current", "target", "reason"),
    [
        (StepState.DONE, StepState.DONE, "already done"),
        (StepState.NOT_APPLICABLE, StepState.DONE, "does not apply"),
        (StepState.NOT_APPLICABLE, StepState.IN_PROGRESS, "does not apply"),
        (StepState.DONE, StepState.NOT_STARTED, "cannot go from done to not started"),
        (StepState.NOT_STARTED, StepState.NOT_APPLICABLE, "cannot go"),
    ],
)
def test_refused_moves_say_why(current: StepState, target: StepState, reason: str) -> None:
    with pytest.raises(TransitionError, match=reason):
        transition(Step.INBOUND, current, target)
