"""The automatic reminders on SQLite and PostgreSQL: which ones the process sets and when, that
running a rule again never adds a second one, and that a Done on a reminder confirming a manual
item makes the checks count it. The inbound and firewall cases run real checks (NSD, aiosmtpd)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import select
from support.dns_fixtures import DnsWorld
from support.probing import probing
from support.smtp_servers import SmtpWorld

from commands.checks.result import CheckResult, CheckStatus
from commands.checks.service import CheckReport, CheckService
from commands.core.context import Caller
from commands.core.process import Step, StepState
from commands.core.roles import Role
from commands.reminders import confirmations, rules
from commands.reminders.rules import ReminderDelays, working_days_after
from commands.replies import ReminderDone
from commands.rfi.service import Incoming
from commands.router import Router
from commands.services import Services
from store.db import Database
from store.models import CheckRun, Onboarding, Reminder, StepStatus

ENGINEER = Caller("U0ENG", "C0ACME", "T0TEST", role=Role.ENGINEER)
CUSTOMER = Caller("U0CUST", "C0ACME", "T0CUST")  # a customer contact in acme's channel
CONTACTS = "Jane, jane@acme.example, primary\nRaj, raj@acme.example, technical"


def reminders(database: Database, kind: str | None = None) -> list[Reminder]:
    with database.session() as session:
        query = select(Reminder).order_by(Reminder.id)  # type: ignore[arg-type]
        if kind is not None:
            query = query.where(Reminder.kind == kind)
        return list(session.exec(query))


def onboarding(database: Database, key: str = "acme") -> Onboarding:
    with database.session() as session:
        return session.exec(select(Onboarding).where(Onboarding.key == key)).one()


def check_runs(database: Database) -> list[CheckRun]:
    with database.session() as session:
        return list(session.exec(select(CheckRun)))


def step_of(router: Router, step: Step) -> StepState:
    status = router.handle_text(ENGINEER, "status acme")
    return next(s.state for s in status.onboarding.steps if s.step is step)  # type: ignore[union-attr]


# --- pure helpers -----------------------------------------------------------------------------


def test_working_days_skip_the_weekend() -> None:
    friday = datetime(2026, 11, 27, 16, 0, tzinfo=UTC)
    assert working_days_after(friday, 1, 9) == datetime(2026, 11, 30, 9, tzinfo=UTC)  # Monday
    assert working_days_after(friday, 2, 9) == datetime(2026, 12, 1, 9, tzinfo=UTC)
    saturday = datetime(2026, 11, 28, 7, 0, tzinfo=UTC)
    assert working_days_after(saturday, 1, 9) == datetime(2026, 11, 30, 9, tzinfo=UTC)
    wednesday = datetime(2026, 12, 2, 23, 59, tzinfo=UTC)
    assert working_days_after(wednesday, 2, 10) == datetime(2026, 12, 4, 10, tzinfo=UTC)


# --- at open ----------------------------------------------------------------------------------


def test_open_sets_the_implementation_considerations_once(database: Database) -> None:
    router = Router(Services.build(database))
    router.handle_text(ENGINEER, "open acme --service both --region eu")
    acme = onboarding(database)
    found = reminders(database)
    assert [r.kind for r in found] == [
        rules.CONSIDERATIONS_ARCHIVE,
        rules.CONSIDERATIONS_POLICIES,
        rules.CONSIDERATIONS_TESTING,
    ]
    due = working_days_after(acme.opened_at, 1, 9)
    assert {r.due_at for r in found} == {due}
    assert due.weekday() < 5
    assert {(r.channel_id, r.state, r.created_by) for r in found} == {("C0ACME", "pending", "bot")}
    assert "export the historical messages" in found[0].text
    assert all(r.key for r in found)

    # Running the rule again (a retry, a re-run) adds nothing.
    with database.session(write=True) as session:
        again = session.get(Onboarding, acme.id)
        assert again is not None
        rules.on_open(session, again, now=datetime.now(UTC), delays=rules.DEFAULT_DELAYS)
    assert len(reminders(database)) == 3


def test_security_only_has_no_archive_export(database: Database) -> None:
    router = Router(Services.build(database))
    router.handle_text(ENGINEER, "open acme --service security")
    assert [r.kind for r in reminders(database)] == [
        rules.CONSIDERATIONS_POLICIES,
        rules.CONSIDERATIONS_TESTING,
    ]


def test_no_channel_no_reminders(database: Database) -> None:
    router = Router(Services.build(database))
    router.handle_text(Caller("U0ENG", role=Role.ENGINEER), "open acme --service both")
    assert reminders(database) == []


# --- step transitions -------------------------------------------------------------------------


def test_outbound_done_starts_the_outbound_only_period_once(database: Database) -> None:
    router = Router(Services.build(database, delays=ReminderDelays(outbound_period_days=7)))
    router.handle_text(ENGINEER, "open acme --service security")
    router.handle_text(ENGINEER, "done acme outbound")
    (period,) = reminders(database, rules.OUTBOUND_PERIOD)
    with database.session() as session:
        row = session.exec(
            select(StepStatus).where(StepStatus.step == "outbound")  # type: ignore[arg-type]
        ).one()
    assert period.due_at == row.changed_at + timedelta(days=7)
    assert "outbound-only period (7 days" in period.text
    assert "inbound switch" in period.text
    # Reopened and done again: still the one reminder.
    router.handle_text(ENGINEER, "reopen acme outbound")
    router.handle_text(ENGINEER, "done acme outbound")
    assert len(reminders(database, rules.OUTBOUND_PERIOD)) == 1


def test_inbound_done_asks_to_cancel_the_previous_provider(database: Database) -> None:
    router = Router(Services.build(database))
    router.handle_text(ENGINEER, "open acme --service security")
    with database.session(write=True) as session:
        acme = session.exec(select(Onboarding)).one()
        acme.previous_provider = "Microsoft 365"
        session.add(acme)
    router.handle_text(ENGINEER, "done acme inbound")
    (cancel,) = reminders(database, rules.CANCEL_PROVIDER)
    assert "Cancel your contract with Microsoft 365 before the firewall lockdown" in cancel.text
    assert cancel.confirms == "firewall.previous_provider"


def test_without_a_known_provider_it_says_your_previous_provider(database: Database) -> None:
    router = Router(Services.build(database))
    router.handle_text(ENGINEER, "open acme --service security")
    router.handle_text(ENGINEER, "done acme inbound")
    (cancel,) = reminders(database, rules.CANCEL_PROVIDER)
    assert "your previous provider" in cancel.text


# --- checks -----------------------------------------------------------------------------------


def checked(database: Database, dns_world: DnsWorld, domains: str) -> tuple[Router, CheckService]:
    checks = CheckService(database, dns_world.profile, dns_world.resolver)
    router = Router(
        Services.build(
            database, allow_private_targets=True, checks=checks, regions={"eu": "Test Europe"}
        )
    )
    router.handle_text(ENGINEER, "open acme --service both --region eu")
    router.services.rfi.bind_thread("acme", "C0ACME", "1.0", "U0ENG")
    for n, text in enumerate([CONTACTS, "next", "127.0.0.40", "next", domains]):
        router.services.rfi.reply(Incoming("C0ACME", "1.0", f"2.{n}", "U0CUST", text))
    return router, checks


def test_mx_gateway_passing_twice_sets_one_old_mx_reminder(
    database: Database, dns_world: DnsWorld
) -> None:
    router, checks = checked(database, dns_world, "good.test")
    plan = router.handle_text(ENGINEER, "check acme inbound")
    first = checks.run(plan, "U0ENG")  # type: ignore[arg-type]
    assert {r.status for r in first.results if r.id == "inbound.mx_gateway"} == {CheckStatus.PASS}
    checks.run(plan, "U0ENG")  # type: ignore[arg-type]
    (chase,) = reminders(database, rules.OLD_MX_CONFIRM)
    assert chase.repeat_seconds == 86_400
    assert chase.confirms == "inbound.old_mx_retired"
    assert "no longer receive mail for good.test" in chase.text
    # Due three days after the first passing run (the second run found the key and left it).
    first_run = min(r.run_at for r in check_runs(database) if r.step == "inbound")
    assert chase.due_at == first_run + timedelta(days=3)


def test_mx_gateway_failing_sets_no_old_mx_reminder(
    database: Database, dns_world: DnsWorld
) -> None:
    router, checks = checked(database, dns_world, "good.test, oldmx.test")
    checks.run(router.handle_text(ENGINEER, "check acme inbound"), "U0ENG")  # type: ignore[arg-type]
    assert reminders(database, rules.OLD_MX_CONFIRM) == []


def test_old_mx_reminder_shows_the_latest_retired_result(database: Database) -> None:
    Router(Services.build(database)).handle_text(ENGINEER, "open acme --service security")
    now = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    with database.session(write=True) as session:
        acme = session.exec(select(Onboarding)).one()
        acme.old_mx_hosts = {"acme.example": ["mx.old.example"]}
        gateway = [CheckResult("inbound.mx_gateway", CheckStatus.PASS, "acme.example", "ok")]
        rules.on_check_results(session, acme, gateway, now=now, delays=rules.DEFAULT_DELAYS)
        retired = [
            CheckResult(
                "inbound.old_mx_retired",
                CheckStatus.FAIL,
                "acme.example",
                "mx.old.example still accepts mail",
            )
        ]
        rules.on_check_results(session, acme, retired, now=now, delays=rules.DEFAULT_DELAYS)
    (chase,) = reminders(database, rules.OLD_MX_CONFIRM)
    assert chase.due_at == now + timedelta(days=3)
    assert "old MX host(s) mx.old.example no longer receive mail for acme.example" in chase.text
    assert "Latest inbound.old_mx_retired check (01 Dec 2026 10:00 UTC)" in chase.text
    assert "fail: mx.old.example still accepts mail" in chase.text


# --- RFI nudges -------------------------------------------------------------------------------


def test_rfi_nudge_is_rearmed_on_activity_and_dropped_when_complete(database: Database) -> None:
    router = Router(Services.build(database, allow_private_targets=True))
    router.handle_text(ENGINEER, "open acme --service archiving")
    router.services.rfi.bind_thread("acme", "C0ACME", "1.0", "U0ENG")
    (first,) = [r for r in reminders(database, rules.RFI_NUDGE) if r.state == "pending"]
    assert (first.channel_id, first.thread_ts) == ("C0ACME", "1.0")
    assert "*Main points of contact* has waited 2 working days" in first.text
    assert first.due_at.weekday() < 5
    router.services.rfi.ask_again("acme")  # no activity: the same nudge
    assert [r.id for r in reminders(database, rules.RFI_NUDGE) if r.state == "pending"] == [
        first.id
    ]
    router.services.rfi.reply(Incoming("C0ACME", "1.0", "2.1", "U0CUST", CONTACTS))
    pending = [r for r in reminders(database, rules.RFI_NUDGE) if r.state == "pending"]
    assert len(pending) == 1
    assert pending[0].id != first.id
    outcome = router.services.rfi.submit_form(
        CUSTOMER,
        "acme",
        {
            "contacts": CONTACTS,
            "outbound_ips": "127.0.0.3",
            "domains": "acme.example",
            "platform": "Microsoft 365",
            "journaling": "pop",
            "directory": "none",
        },
    )
    assert getattr(outcome, "finished", False)
    assert [r for r in reminders(database, rules.RFI_NUDGE) if r.state == "pending"] == []


# --- confirmations ----------------------------------------------------------------------------


def test_a_confirmation_passes_skipped_and_unknown_but_not_fail(database: Database) -> None:
    router = Router(Services.build(database))
    router.handle_text(ENGINEER, "open acme --service security")
    router.handle_text(ENGINEER, "done acme inbound")
    (cancel,) = reminders(database, rules.CANCEL_PROVIDER)
    results = [
        CheckResult("firewall.previous_provider", CheckStatus.SKIPPED, None, "confirm it"),
        CheckResult("inbound.old_mx_retired", CheckStatus.UNKNOWN, "a.example", "no answer"),
    ]
    acme_id = onboarding(database).id or 0
    with database.session() as session:
        assert confirmations.apply(session, acme_id, results) == results  # nothing confirmed
    done = router.services.reminders.done(ENGINEER, cancel.id or 0)
    assert isinstance(done, ReminderDone)
    assert done.confirmed == "firewall.previous_provider"
    with database.session() as session:
        after = confirmations.apply(session, acme_id, results)
        failing = confirmations.apply(
            session,
            acme_id,
            [CheckResult("firewall.previous_provider", CheckStatus.FAIL, None, "no")],
        )
    assert after[0].status is CheckStatus.PASS
    assert "Confirmed by U0ENG" in after[0].summary
    assert after[1] == results[1]  # old MX not confirmed: unchanged
    assert failing[0].status is CheckStatus.FAIL


def test_done_on_the_provider_reminder_completes_the_firewall_step(
    database: Database, smtp_world: SmtpWorld
) -> None:
    checks = probing(database, smtp_world)
    router = Router(
        Services.build(database, allow_private_targets=True, checks=checks, regions={"eu": "EU"})
    )
    router.handle_text(ENGINEER, "open acme --service both --region eu")
    router.services.rfi.bind_thread("acme", "C0ACME", "1.0", "U0ENG")
    for n, text in enumerate([CONTACTS, "next", smtp_world.address("closed")]):
        router.services.rfi.reply(Incoming("C0ACME", "1.0", f"4.{n}", "U0CUST", text))

    def firewall() -> CheckReport:
        report = checks.run(router.handle_text(ENGINEER, "check acme firewall"), "U0ENG")  # type: ignore[arg-type]
        assert isinstance(report, CheckReport)
        return report

    before = {r.id: r.status for r in firewall().results}
    assert before == {
        "firewall.lockdown": CheckStatus.PASS,
        "firewall.previous_provider": CheckStatus.SKIPPED,
    }
    assert step_of(router, Step.FIREWALL) is StepState.IN_PROGRESS

    router.handle_text(ENGINEER, "done acme inbound")
    (cancel,) = reminders(database, rules.CANCEL_PROVIDER)
    done = router.services.reminders.done(ENGINEER, cancel.id or 0)
    assert (done.step, done.step_state) == (Step.FIREWALL, StepState.DONE)
    assert step_of(router, Step.FIREWALL) is StepState.DONE
    (stored,) = reminders(database, rules.CANCEL_PROVIDER)
    assert (stored.state, stored.done_by) == ("done", "U0ENG")
    assert stored.done_at is not None

    # The next check counts the confirmation too, and says who gave it.
    again = firewall()
    provider = next(r for r in again.results if r.id == "firewall.previous_provider")
    assert provider.status is CheckStatus.PASS
    assert "Confirmed by U0ENG" in provider.summary
    assert again.moves == ()

    # A second Done changes nothing and says who did it first.
    twice = router.services.reminders.done(Caller("U0OTHER", "C0ACME"), cancel.id or 0)
    assert twice.already


def test_status_counts_open_reminders_and_close_cancels_them(database: Database) -> None:
    router = Router(Services.build(database))
    router.handle_text(ENGINEER, "open acme --service both")
    status = router.handle_text(ENGINEER, "status")
    count, soonest = status.onboarding.reminders  # type: ignore[union-attr]
    assert count == 3
    assert soonest == working_days_after(onboarding(database).opened_at, 1, 9)
    assert soonest is not None
    assert soonest.tzinfo is not None
    router.handle_text(ENGINEER, "close acme --yes")
    assert {r.state for r in reminders(database)} == {"cancelled"}


def test_done_on_the_old_mx_reminder_completes_inbound_and_chains_the_provider(
    database: Database,
) -> None:
    """The inbound run's only gap is the old MX host nobody could reach (unknown): the ISP's
    confirmation (Done) passes it, inbound is done, and that sets the provider reminder."""
    router = Router(Services.build(database))
    router.handle_text(ENGINEER, "open acme --service security")
    now = datetime.now(UTC)
    gateway = CheckResult("inbound.mx_gateway", CheckStatus.PASS, "acme.example", "at the gateway")
    unreachable = CheckResult(
        "inbound.old_mx_retired", CheckStatus.UNKNOWN, "acme.example", "mx.old.example: timeout"
    )
    with database.session(write=True) as session:
        acme = session.exec(select(Onboarding)).one()
        assert acme.id is not None
        acme.old_mx_hosts = {"acme.example": ["mx.old.example"]}
        session.add(
            CheckRun(
                onboarding_id=acme.id,
                step="inbound",
                run_by="U0ENG",
                run_at=now,
                worst="unknown",
                results=[gateway.as_dict(), unreachable.as_dict()],
            )
        )
        rules.on_check_results(
            session, acme, [gateway, unreachable], now=now, delays=rules.DEFAULT_DELAYS
        )
    (chase,) = reminders(database, rules.OLD_MX_CONFIRM)
    assert "Latest inbound.old_mx_retired check" in chase.text
    assert "unknown: mx.old.example: timeout" in chase.text
    assert reminders(database, rules.CANCEL_PROVIDER) == []

    done = router.services.reminders.done(ENGINEER, chase.id or 0)
    assert done.confirmed == "inbound.old_mx_retired"
    assert (done.step, done.step_state) == (Step.INBOUND, StepState.DONE)
    assert step_of(router, Step.INBOUND) is StepState.DONE
    (cancel,) = reminders(database, rules.CANCEL_PROVIDER)  # inbound done: the next chore
    assert cancel.state == "pending"
    (chase,) = reminders(database, rules.OLD_MX_CONFIRM)
    assert chase.state == "done"  # a repeating reminder stops at Done


def test_done_does_not_pass_over_a_failure(database: Database) -> None:
    router = Router(Services.build(database))
    router.handle_text(ENGINEER, "open acme --service security")
    now = datetime.now(UTC)
    accepting = CheckResult(
        "inbound.old_mx_retired", CheckStatus.FAIL, "acme.example", "mx.old.example accepts mail"
    )
    gateway = CheckResult("inbound.mx_gateway", CheckStatus.PASS, "acme.example", "ok")
    with database.session(write=True) as session:
        acme = session.exec(select(Onboarding)).one()
        assert acme.id is not None
        session.add(
            CheckRun(
                onboarding_id=acme.id,
                step="inbound",
                run_by="U0ENG",
                run_at=now,
                worst="fail",
                results=[gateway.as_dict(), accepting.as_dict()],
            )
        )
        rules.on_check_results(session, acme, [gateway], now=now, delays=rules.DEFAULT_DELAYS)
    (chase,) = reminders(database, rules.OLD_MX_CONFIRM)
    done = router.services.reminders.done(ENGINEER, chase.id or 0)
    assert done.step is None
    assert step_of(router, Step.INBOUND) is StepState.NOT_STARTED
