"""The check service on SQLite and PostgreSQL, against the real NSD of the DNS fixtures: what a
run stores, how the steps follow, and what it refuses."""

from __future__ import annotations

import pytest
from sqlmodel import select
from support.dns_fixtures import DnsWorld

from commands.checking import CheckReport, CheckService
from commands.checks import CheckStatus
from commands.onboarding import Caller, Refused
from commands.rfi.service import Incoming
from commands.router import Router
from commands.steps import Step, StepState
from store.db import Database
from store.models import AuditEvent, CheckRun, Onboarding

ENGINEER = Caller("U0ENG", "C0ACME", "T0TEST")


def setup(database: Database, dns_world: DnsWorld, domains: str) -> tuple[Router, CheckService]:
    checks = CheckService(database, dns_world.profile, dns_world.resolver)
    router = Router(
        database, allow_private_targets=True, checks=checks, regions={"eu": "Test Europe"}
    )
    router.handle_text(ENGINEER, "open acme --service both --region eu")
    router.rfi.bind_thread("acme", "C0ACME", "1.0", "U0ENG")
    for n, text in enumerate(
        [
            "Jane, jane@acme.example, primary\nRaj, raj@acme.example, technical",
            "next",
            "127.0.0.40",
            "next",
            domains,
        ]
    ):
        router.rfi.reply(Incoming("C0ACME", "1.0", f"2.{n}", "U0CUST", text))
    return router, checks


def test_a_run_stores_results_moves_steps_and_remembers_the_provider(
    database: Database, dns_world: DnsWorld
) -> None:
    router, checks = setup(database, dns_world, "good.test, oldmx.test")
    plan = router.handle_text(ENGINEER, "check acme")
    report = checks.run(plan, "U0ENG")  # type: ignore[arg-type]
    assert isinstance(report, CheckReport)
    by = {(r.id, r.subject): r.status for r in report.results}
    assert by[("inbound.mx_gateway", "good.test")] is CheckStatus.PASS
    assert by[("inbound.mx_gateway", "oldmx.test")] is CheckStatus.FAIL
    assert [(m.step, m.after) for m in report.moves] == [
        (Step.OUTBOUND, StepState.IN_PROGRESS),
        (Step.INBOUND, StepState.IN_PROGRESS),
    ]
    assert report.previous_provider is not None
    with database.session() as session:
        runs = session.exec(select(CheckRun)).all()
        onboarding = session.exec(select(Onboarding)).one()
        actions = [e.action for e in session.exec(select(AuditEvent))]
    assert {(r.step, r.worst) for r in runs} == {("outbound", "fail"), ("inbound", "fail")}
    assert onboarding.previous_provider_key == "microsoft365"
    assert "check.run" in actions
    assert "provider.recognised" in actions

    # A second run that recognises nothing new keeps the first provider.
    again = checks.run(plan, "U0ENG")  # type: ignore[arg-type]
    assert again.previous_provider is None
    assert again.moves == ()  # failing again: the steps stay in progress


def test_a_passing_run_marks_done_and_an_inconclusive_one_keeps_it(
    database: Database, dns_world: DnsWorld
) -> None:
    router, checks = setup(database, dns_world, "good.test")
    plan = router.handle_text(ENGINEER, "check acme outbound")
    report = checks.run(plan, "U0ENG")  # type: ignore[arg-type]
    assert [(m.step, m.after) for m in report.moves] == [(Step.OUTBOUND, StepState.DONE)]
    # Same plan, but a resolver that cannot reach any server: unknown, and done stays done.
    dead = CheckService(
        database,
        dns_world.profile,
        lambda: type(dns_world.resolver())(["127.0.0.1:9"], timeout=0.3, lifetime=0.6),
    )
    later = dead.run(plan, "U0ENG")  # type: ignore[arg-type]
    assert {r.status for r in later.results} == {CheckStatus.UNKNOWN}
    assert later.moves == ()
    status = router.handle_text(ENGINEER, "status")
    assert (
        next(
            s
            for s in status.onboarding.steps  # type: ignore[union-attr]
            if s.step is Step.OUTBOUND
        ).state
        is StepState.DONE
    )


def test_closed_onboardings_are_not_checked(database: Database, dns_world: DnsWorld) -> None:
    router, checks = setup(database, dns_world, "good.test")
    plan = router.handle_text(ENGINEER, "check acme")
    router.handle_text(ENGINEER, "close acme")
    with pytest.raises(Refused):
        checks.run(plan, "U0ENG")  # type: ignore[arg-type]
    with database.session() as session:
        assert session.exec(select(CheckRun)).all() == []
