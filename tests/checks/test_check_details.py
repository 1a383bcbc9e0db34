"""The Details button's service: the evidence of stored runs, for those who may see them.

A button's value is forgeable, so it only names runs; the onboarding they belong to is found
in the store and checked against the clicker like a typed key (commands/core/access.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from commands.checks.details import CheckDetailsService, run_ids_of
from commands.core.context import Caller, Refused
from commands.core.process import Step
from commands.core.roles import NOT_YOURS, Role
from store import onboardings
from store.db import Database
from store.models import CheckRun, Onboarding

World = tuple[CheckDetailsService, dict[str, list[int]]]  # the service, and each key's run ids
RESULT = {
    "id": "outbound.spf",
    "status": "fail",
    "subject": "acme.test",
    "summary": "acme.test has no SPF record.",
    "evidence": ["acme.test TXT: no records"],
    "fix": 'acme.test. TXT "v=spf1 include:eu._spf.gateway.test ~all"',
    "until": None,
}


@pytest.fixture
def world(tmp_path: Path) -> World:
    db = Database(f"sqlite:///{tmp_path / 'details.db'}")
    db.upgrade()
    runs: dict[str, list[int]] = {}
    with db.session(write=True) as session:
        for key in ("acme", "globex"):
            onboarding = Onboarding(
                key=key,
                name=key.title(),
                service="both",
                opened_by="U0ENG",
                channel_id=f"C0{key.upper()}",
            )
            steps = [(step.value, "not_started") for step in Step]
            onboardings.add_onboarding(session, onboarding, steps)
            assert onboarding.id is not None
            for step in ("outbound", "inbound"):
                run = CheckRun(
                    onboarding_id=onboarding.id,
                    step=step,
                    run_by="U0ENG",
                    worst="fail",
                    results=[{**RESULT, "subject": f"{key}.test"}],
                )
                session.add(run)
                session.flush()
                assert run.id is not None
                runs.setdefault(key, []).append(run.id)
    return CheckDetailsService(db), runs


def test_a_customer_sees_the_runs_of_their_channels_onboarding(world: World) -> None:
    service, runs = world
    shown = service.details(Caller("U0GUEST", "C0ACME", team_id="T0ACME"), runs["acme"])
    assert shown.onboarding.key == "acme"
    assert [r.subject for r in shown.results] == ["acme.test", "acme.test"]
    assert shown.results[0].evidence == ("acme.test TXT: no records",)
    engineer = Caller("U0ENG", "C0ELSEWHERE", role=Role.ENGINEER)
    assert service.details(engineer, runs["globex"]).onboarding.key == "globex"


@pytest.mark.parametrize(
    "which",
    [
        "the other onboarding's runs",
        "a mix of both",
        "a run that does not exist",
        "no runs",
    ],
)
def test_runs_the_clicker_may_not_see_are_refused_alike(world: World, which: str) -> None:
    service, runs = world
    ids = {
        "the other onboarding's runs": runs["globex"],
        "a mix of both": [runs["acme"][0], runs["globex"][0]],
        "a run that does not exist": [*runs["acme"], 999_999],
        "no runs": [],
    }[which]
    with pytest.raises(Refused) as refused:
        service.details(Caller("U0GUEST", "C0ACME", team_id="T0ACME"), ids)
    assert refused.value.text is NOT_YOURS


@pytest.mark.parametrize(
    ("value", "ids"),
    [("12,13", [12, 13]), ("7", [7]), ("", []), ("1,x", []), ("-1", []), (",".join("1" * 11), [])],
)
def test_a_buttons_value_names_runs_or_nothing(value: str, ids: list[int]) -> None:
    assert run_ids_of(value) == ids
