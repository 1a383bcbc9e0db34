"""What to do next on an onboarding, in words that name the action to take: the card's button or
the command, never the step's description again.

The card (seen by everyone in the channel) names its buttons only; a status names the buttons and
the command as the person can type it (`/connect ...` for an engineer who used the slash command,
`@connect ...` for everyone else: a customer contact has no slash command).
"""

from __future__ import annotations

from collections.abc import Collection

from commands.core.context import Door
from commands.core.process import Step, StepState
from commands.core.text import Code, Text
from commands.core.views import LastCheck, OnboardingView

# The card's buttons, by the labels people see (bot/render/buttons.py uses these).
RUN_CHECKS = "Run checks"
DNS_RECORDS = "DNS records"
RFI_FORM = "Answer the RFI as a form"
CREDENTIALS = "Enter credentials"
REMINDERS = "Reminders"
REPORT = "Report"

# The login a step needs before its checks can judge it (commands/credentials.py KINDS).
STEP_CREDENTIALS: dict[Step, str] = {Step.RECIPIENTS: "ldap", Step.JOURNALING: "pop"}


def next_action(view: OnboardingView, *, stored: Collection[str], door: Door | None = None) -> Text:
    """The next action for `view`. `stored`: the kinds of login already entered ("pop",
    "ldap"). `door`: None on the card (buttons only), else how the reader types commands."""
    if view.closed_at is not None:
        return Text("nothing more to do: the onboarding is closed.")
    step = view.next_step
    if step is None:
        return Text(
            "every step is done: a Connect engineer closes the onboarding{how}.",
            how=_command(view, Door.SLASH if door is Door.SLASH else None, "close"),
        )
    if step.step is Step.RFI:
        return Text(
            "answer the open question in the RFI thread, or use *{form}*{how}.",
            form=RFI_FORM,
            how=_command(view, door, "rfi"),
        )
    check = _then_check(view, door, step.step)
    last = view.last_check(step.step)
    if last is not None and last.worst == "unknown":
        return Text(
            "see what the last check report could not reach, then {check} again.", check=check
        )
    kind = STEP_CREDENTIALS.get(step.step)
    if kind is not None and kind not in stored and not _has_recipients(view, step.step):
        return Text("{what}, then {check}.", what=_login_first(step.step, view, door), check=check)
    return Text("{what}, then {check}.", what=_to_do(step.step, last, view, door), check=check)


def _to_do(step: Step, last: LastCheck | None, view: OnboardingView, door: Door | None) -> Text:
    failed = last is not None and last.worst in ("fail", "warn")
    dns = Text("*{dns}*{how}", dns=DNS_RECORDS, how=_command(view, door, "dns"))
    if step is Step.OUTBOUND:
        if failed:
            return Text("publish the SPF record from {dns}", dns=dns)
        return Text(
            "send outbound mail through the gateway's smart hosts and publish the SPF "
            "record from {dns}",
            dns=dns,
        )
    if step is Step.INBOUND:
        return Text("point the MX records at the gateway (the records are in {dns})", dns=dns)
    if step is Step.FIREWALL:
        return Text("lock port 25 down to the gateway's ranges and cancel the previous provider")
    if failed:
        return Text("fix what the last check report names")
    if step is Step.RECIPIENTS:
        return Text("make sure the gateway can read the directory")
    return Text("send the journal to the archive")


def _login_first(step: Step, view: OnboardingView, door: Door | None) -> Text:
    kind = STEP_CREDENTIALS[step]
    how = _command(view, door, f"credentials {kind}")
    if step is Step.RECIPIENTS:
        return Text(
            "enter the directory login with *{button}*{how} (or share a spreadsheet of "
            "recipients in the RFI thread)",
            button=CREDENTIALS,
            how=how,
        )
    return Text(
        "set up journaling and enter the POP journal mailbox login with *{button}*{how}",
        button=CREDENTIALS,
        how=how,
    )


def _then_check(view: OnboardingView, door: Door | None, step: Step) -> Text:
    return Text(
        "*{button}*{how}", button=RUN_CHECKS, how=_command(view, door, f"check {step.value}")
    )


def _command(view: OnboardingView, door: Door | None, verb_and_args: str) -> Text:
    """ " (`/connect check acme outbound`)" for the door, or nothing on the card."""
    if door is None:
        return Text("")
    verb, _, rest = verb_and_args.partition(" ")
    # The slash command may come from any channel, so it names the customer; a mention is
    # written in the onboarding's own channel, where the key is left out.
    words = [door.value, verb, view.key, rest] if door is Door.SLASH else [door.value, verb, rest]
    return Text(" ({command})", command=Code(" ".join(w for w in words if w)))


def _has_recipients(view: OnboardingView, step: Step) -> bool:
    """Recipients from a spreadsheet stand in for the directory login."""
    return step is Step.RECIPIENTS and view.recipient_count > 0


def checkable_steps(view: OnboardingView) -> tuple[Step, ...]:
    """The steps a *Run checks* click may run: every applicable one that has checks."""
    return tuple(s.step for s in view.steps if s.applies and s.step is not Step.RFI)


def logins_needed(view: OnboardingView) -> tuple[str, ...]:
    """The logins the card offers to enter: those of applicable steps not yet done."""
    return tuple(
        STEP_CREDENTIALS[s.step]
        for s in view.steps
        if s.step in STEP_CREDENTIALS and s.applies and s.state is not StepState.DONE
    )
