"""What to do next (commands/onboarding/next_action.py): it names the action to take, as a
button of the card and as a command the reader can type, never the step's description again,
and never a slash command to someone who reaches the bot by mentions."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from bot.render.mrkdwn import text as render_text
from commands.core.context import Door
from commands.core.process import STEP_ACTIONS, Service, Step, StepState
from commands.core.views import LastCheck, OnboardingView, StepView
from commands.onboarding.next_action import checkable_steps, logins_needed, next_action

AT = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def view(
    states: dict[Step, StepState], *, checks: tuple[LastCheck, ...] = (), closed: bool = False
) -> OnboardingView:
    steps = tuple(
        StepView(step, states.get(step, StepState.NOT_STARTED), AT, "U0ENG") for step in Step
    )
    return OnboardingView(
        key="acme",
        name="Acme",
        service=Service.BOTH,
        region="eu",
        channel_id="C0ACME",
        opened_by="U0ENG",
        opened_at=AT,
        closed_by="U0ENG" if closed else None,
        closed_at=AT if closed else None,
        steps=steps,
        last_checks=checks,
    )


def said(v: OnboardingView, *, stored: tuple[str, ...] = (), door: Door | None = None) -> str:
    return str(render_text(next_action(v, stored=stored, door=door)))


DONE = StepState.DONE


def test_the_rfi_names_the_form_button_and_the_command_for_each_door() -> None:
    v = view({Step.RFI: StepState.IN_PROGRESS})
    card = said(v)
    assert card == "answer the open question in the RFI thread, or use *Answer the RFI as a form*."
    assert said(v, door=Door.SLASH).endswith("*Answer the RFI as a form* (`/connect rfi acme`).")
    assert said(v, door=Door.MENTION).endswith("*Answer the RFI as a form* (`@connect rfi`).")


def test_a_failed_outbound_check_points_at_the_spf_record_in_dns_records() -> None:
    failed = LastCheck(Step.OUTBOUND, "fail", AT)
    v = view({Step.RFI: DONE, Step.OUTBOUND: StepState.IN_PROGRESS}, checks=(failed,))
    assert said(v) == "publish the SPF record from *DNS records*, then *Run checks*."
    assert said(v, door=Door.MENTION) == (
        "publish the SPF record from *DNS records* (`@connect dns`), then *Run checks* "
        "(`@connect check outbound`)."
    )


@pytest.mark.parametrize(
    ("done", "step", "login"),
    [((Step.RFI, Step.OUTBOUND), Step.RECIPIENTS, "ldap")],
)
def test_a_step_that_needs_a_login_asks_for_it_first(
    done: tuple[Step, ...], step: Step, login: str
) -> None:
    v = view(dict.fromkeys(done, DONE))
    assert "*Enter credentials*" in said(v)
    assert f"`/connect credentials acme {login}`" in said(v, door=Door.SLASH)
    assert "*Enter credentials*" not in said(v, stored=(login,))
    assert said(v, stored=(login,)).endswith("then *Run checks*.")


def test_journaling_asks_for_the_pop_login() -> None:
    v = view({s: DONE for s in (Step.RFI, Step.OUTBOUND, Step.RECIPIENTS)})
    assert "POP journal mailbox login with *Enter credentials*" in said(v)


def test_the_step_description_is_never_repeated() -> None:
    for step in Step:
        before = [s for s in Step][: list(Step).index(step)]
        v = view({**dict.fromkeys(before, DONE), step: StepState.IN_PROGRESS})
        for door in (None, Door.SLASH, Door.MENTION):
            assert STEP_ACTIONS[step] not in said(v, door=door)


def test_a_mention_reader_is_never_shown_the_slash_command() -> None:
    for step in Step:
        before = [s for s in Step][: list(Step).index(step)]
        v = view(dict.fromkeys(before, DONE))
        assert "/connect" not in said(v, door=Door.MENTION)
        assert "/connect" not in said(v)  # the card
    every = view(dict.fromkeys(Step, DONE))
    assert "/connect" not in said(every, door=Door.MENTION)
    assert "`/connect close acme`" in said(every, door=Door.SLASH)


def test_closed_and_unknown() -> None:
    assert said(view({}, closed=True)) == "nothing more to do: the onboarding is closed."
    unknown = LastCheck(Step.OUTBOUND, "unknown", AT)
    v = view({Step.RFI: DONE}, checks=(unknown,))
    assert said(v) == "see what the last check report could not reach, then *Run checks* again."


def test_what_the_card_offers() -> None:
    archiving = {Step.OUTBOUND: StepState.NOT_APPLICABLE, Step.INBOUND: StepState.NOT_APPLICABLE}
    archiving[Step.FIREWALL] = StepState.NOT_APPLICABLE
    v = view(archiving)
    assert checkable_steps(v) == (Step.RECIPIENTS, Step.JOURNALING)
    assert logins_needed(v) == ("ldap", "pop")
    assert logins_needed(replace(v, steps=tuple(replace(s, state=DONE) for s in v.steps))) == ()
