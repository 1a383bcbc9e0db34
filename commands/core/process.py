"""The Connect process: its steps, which apply to which service, and how a step's state moves."""

from __future__ import annotations

from enum import StrEnum


class Service(StrEnum):
    ARCHIVING = "archiving"
    SECURITY = "security"
    BOTH = "both"

    # Shadows str.title() on purpose (templates and replies read `service.title`); mypy flags
    # any property that replaces a method of the base class.
    @property
    def title(self) -> str:  # type: ignore[override]
        return SERVICE_TITLES[self]


SERVICE_TITLES: dict[Service, str] = {
    Service.ARCHIVING: "Archiving",
    Service.SECURITY: "Email security",
    Service.BOTH: "Email security + Archiving",
}

# What people type for a service; the seed calls it "Email Security".
SERVICE_ALIASES: dict[str, Service] = {
    "archiving": Service.ARCHIVING,
    "archive": Service.ARCHIVING,
    "security": Service.SECURITY,
    "email-security": Service.SECURITY,
    "both": Service.BOTH,
}


class Step(StrEnum):
    """The six steps, declared in the seed's order (iteration order is the process order)."""

    RFI = "rfi"
    OUTBOUND = "outbound"
    RECIPIENTS = "recipients"
    JOURNALING = "journaling"
    INBOUND = "inbound"
    FIREWALL = "firewall"

    @property
    def title(self) -> str:  # type: ignore[override]  # shadows str.title(), as Service does
        return STEP_TITLES[self]


STEP_TITLES: dict[Step, str] = {
    Step.RFI: "Request for information",
    Step.OUTBOUND: "Outbound",
    Step.RECIPIENTS: "Recipient validation",
    Step.JOURNALING: "Journaling",
    Step.INBOUND: "Inbound",
    Step.FIREWALL: "Firewall lockdown",
}

# What each step asks of the customer, shown as the next action.
STEP_ACTIONS: dict[Step, str] = {
    Step.RFI: "answer the request for information (contacts, IP addresses, domains, "
    "forwarding addresses)",
    Step.OUTBOUND: "route outbound mail through the gateway's smart hosts and add the gateway "
    "to your SPF records",
    Step.RECIPIENTS: "connect your directory (LDAP/LDAPS) or upload a spreadsheet of recipients",
    Step.JOURNALING: "set up journaling to the archive (SMTP recommended)",
    Step.INBOUND: "point your MX records at the gateway",
    Step.FIREWALL: "lock port 25 down to the gateway's ranges and cancel your previous provider",
}

STEP_ALIASES: dict[str, Step] = {
    **{step.value: step for step in Step},
    "request-for-information": Step.RFI,
    "recipient-validation": Step.RECIPIENTS,
    "validation": Step.RECIPIENTS,
    "journal": Step.JOURNALING,
    "lockdown": Step.FIREWALL,
    "firewall-lockdown": Step.FIREWALL,
}

# The seed's table: which steps a service needs.
SERVICE_MATRIX: dict[Service, frozenset[Step]] = {
    Service.ARCHIVING: frozenset({Step.RFI, Step.RECIPIENTS, Step.JOURNALING}),
    Service.SECURITY: frozenset(
        {Step.RFI, Step.OUTBOUND, Step.RECIPIENTS, Step.INBOUND, Step.FIREWALL}
    ),
    Service.BOTH: frozenset(Step),
}


def applies(service: Service, step: Step) -> bool:
    return step in SERVICE_MATRIX[service]


class StepState(StrEnum):
    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    NOT_APPLICABLE = "not_applicable"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")


def initial_state(service: Service, step: Step) -> StepState:
    return StepState.NOT_STARTED if applies(service, step) else StepState.NOT_APPLICABLE


class TransitionError(ValueError):
    """A step cannot move to the asked state; the message says why, for the user."""


# Moves a person or a check may make. NOT_APPLICABLE is fixed by the service bought.
_ALLOWED: dict[StepState, frozenset[StepState]] = {
    StepState.NOT_STARTED: frozenset({StepState.IN_PROGRESS, StepState.DONE}),
    StepState.IN_PROGRESS: frozenset({StepState.DONE, StepState.NOT_STARTED}),
    StepState.DONE: frozenset({StepState.IN_PROGRESS}),
    StepState.NOT_APPLICABLE: frozenset(),
}


def transition(step: Step, current: StepState, target: StepState) -> StepState:
    """Return the new state, or raise TransitionError saying why the move is refused."""
    if current is StepState.NOT_APPLICABLE:
        raise TransitionError(f"{step.title} does not apply to this onboarding's service.")
    if current is target:
        raise TransitionError(f"{step.title} is already {current.label}.")
    if target not in _ALLOWED[current]:
        if target is StepState.IN_PROGRESS and current is not StepState.DONE:
            raise TransitionError(f"{step.title} is {current.label}.")
        raise TransitionError(f"{step.title} cannot go from {current.label} to {target.label}.")
    return target
