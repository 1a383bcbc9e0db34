"""The check service on SQLite and PostgreSQL, against real servers (the NSD of the DNS
fixtures, the aiosmtpd servers and Dovecot of the probe fixtures): what a run stores, how the
steps follow, and what it refuses."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from sqlmodel import select
from support.dns_fixtures import DnsWorld
from support.dovecot import (
    JOURNAL_MESSAGES,
    JOURNAL_PASSWORD,
    JOURNAL_USER,
    POP_HOST,
    DovecotServer,
)
from support.probing import probing
from support.smtp_servers import SmtpWorld

from commands.checks.result import CheckStatus
from commands.checks.service import CheckReport, CheckService
from commands.core.context import Caller, Refused
from commands.core.process import Step, StepState
from commands.core.roles import Role
from commands.credentials import CredentialErrors, CredentialService
from commands.replies import Updated
from commands.rfi.service import Incoming
from commands.router import Router
from commands.secrets import SecretBox
from commands.services import Services
from store.db import Database
from store.models import AuditEvent, CheckRun, Onboarding

ENGINEER = Caller("U0ENG", "C0ACME", "T0TEST", role=Role.ENGINEER)
CUSTOMER = Caller("U0CUST", "C0ACME", "T0CUST")  # a customer contact in acme's channel
CONTACTS = "Jane, jane@acme.example, primary\nRaj, raj@acme.example, technical"


def setup(database: Database, dns_world: DnsWorld, domains: str) -> tuple[Router, CheckService]:
    checks = CheckService(database, dns_world.profile, dns_world.resolver)
    router = Router(
        Services.build(
            database, allow_private_targets=True, checks=checks, regions={"eu": "Test Europe"}
        )
    )
    router.handle_text(ENGINEER, "open acme --service both --region eu")
    router.services.rfi.bind_thread("acme", "C0ACME", "1.0", "U0ENG")
    for n, text in enumerate(
        [
            "Jane, jane@acme.example, primary\nRaj, raj@acme.example, technical",
            "next",
            "127.0.0.40",
            "next",
            domains,
        ]
    ):
        router.services.rfi.reply(Incoming("C0ACME", "1.0", f"2.{n}", "U0CUST", text))
    return router, checks


def test_a_run_stores_results_moves_steps_and_remembers_the_provider(
    database: Database, dns_world: DnsWorld
) -> None:
    router, checks = setup(database, dns_world, "good.test, oldmx.test")
    plan = router.handle_text(ENGINEER, "check acme inbound")
    report = checks.run(plan, "U0ENG")  # type: ignore[arg-type]
    assert isinstance(report, CheckReport)
    by = {(r.id, r.subject): r.status for r in report.results}
    assert by[("inbound.mx_gateway", "good.test")] is CheckStatus.PASS
    assert by[("inbound.mx_gateway", "oldmx.test")] is CheckStatus.FAIL
    assert [(m.step, m.after) for m in report.moves] == [(Step.INBOUND, StepState.IN_PROGRESS)]
    assert report.previous_provider is not None
    with database.session() as session:
        runs = session.exec(select(CheckRun)).all()
        onboarding = session.exec(select(Onboarding)).one()
        actions = [e.action for e in session.exec(select(AuditEvent))]
    assert {(r.step, r.worst) for r in runs} == {("inbound", "fail")}
    assert onboarding.previous_provider_key == "microsoft365"
    # The MX hosts that are not the gateway's are kept, for the old-MX probe after the switch.
    assert onboarding.old_mx_hosts == {
        "good.test": [],
        "oldmx.test": ["acme-test.mail.protection.outlook.com"],
    }
    assert "check.run" in actions
    assert "provider.recognised" in actions

    # A second run that recognises nothing new keeps the first provider.
    again = checks.run(plan, "U0ENG")  # type: ignore[arg-type]
    assert again.previous_provider is None
    assert again.moves == ()  # failing again: the steps stay in progress


def test_probes_move_steps_done_only_when_every_check_passes(
    database: Database, smtp_world: SmtpWorld
) -> None:
    checks = probing(database, smtp_world)
    router = Router(
        Services.build(database, allow_private_targets=True, checks=checks, regions={"eu": "EU"})
    )
    router.handle_text(ENGINEER, "open acme --service both --region eu")
    router.services.rfi.bind_thread("acme", "C0ACME", "1.0", "U0ENG")
    # A sending address where nothing listens: the lockdown probe is refused there.
    for n, text in enumerate([CONTACTS, "next", smtp_world.address("closed")]):
        router.services.rfi.reply(Incoming("C0ACME", "1.0", f"4.{n}", "U0CUST", text))

    def journaling() -> CheckReport:
        return checks.run(router.handle_text(ENGINEER, "check acme journaling"), "U0ENG")  # type: ignore[arg-type]

    # The journal hosts answer, but the account's journal address is not known yet: a warning.
    first = journaling()
    assert [(r.id, r.status) for r in first.results] == [("journaling.smtp", CheckStatus.WARN)]
    assert [(m.step, m.after) for m in first.moves] == [(Step.JOURNALING, StepState.IN_PROGRESS)]
    assert isinstance(
        router.handle_text(ENGINEER, "set acme --journal-address someone@acme-corp.com"), Updated
    )
    wrong = journaling()
    assert [r.status for r in wrong.results] == [CheckStatus.FAIL]
    assert "does not have the form" in wrong.results[0].summary
    assert isinstance(
        router.handle_text(
            ENGINEER, "set acme --journal-address journal-acme-1@jrnl.gateway-test.net"
        ),
        Updated,
    )
    right = journaling()
    assert [r.status for r in right.results] == [CheckStatus.PASS]
    assert [(m.step, m.after) for m in right.moves] == [(Step.JOURNALING, StepState.DONE)]

    # The lockdown passes, but the previous provider's cancellation is a person's to confirm:
    # the firewall step is in progress, not done.
    firewall = checks.run(router.handle_text(ENGINEER, "check acme firewall"), "U0ENG")  # type: ignore[arg-type]
    statuses = {r.id: r.status for r in firewall.results}
    assert statuses == {
        "firewall.lockdown": CheckStatus.PASS,
        "firewall.previous_provider": CheckStatus.SKIPPED,
    }
    assert [(m.step, m.after) for m in firewall.moves] == [(Step.FIREWALL, StepState.IN_PROGRESS)]

    # The journal host cannot be resolved now: unknown, and journaling stays done.
    dead = probing(
        database,
        smtp_world,
        resolver=lambda: type(smtp_world.resolver())(["127.0.0.1:9"], timeout=0.3, lifetime=0.6),
    )
    later = dead.run(router.handle_text(ENGINEER, "check acme journaling"), "U0ENG")  # type: ignore[arg-type]
    assert {r.status for r in later.results} == {CheckStatus.UNKNOWN}
    assert later.moves == ()


def test_closed_onboardings_are_not_checked(database: Database, dns_world: DnsWorld) -> None:
    router, checks = setup(database, dns_world, "good.test")
    plan = router.handle_text(ENGINEER, "check acme")
    router.handle_text(ENGINEER, "close acme --yes")
    with pytest.raises(Refused):
        checks.run(plan, "U0ENG")  # type: ignore[arg-type]
    with database.session() as session:
        assert session.exec(select(CheckRun)).all() == []


def test_journaling_pop_logs_in_with_the_stored_credentials(
    database: Database, smtp_world: SmtpWorld, dovecot_server: DovecotServer
) -> None:
    box = SecretBox(Fernet.generate_key().decode())
    credentials = CredentialService(database, box, allow_private=True)
    checks = probing(database, smtp_world, credentials=credentials)
    router = Router(
        Services.build(
            database,
            allow_private_targets=True,
            checks=checks,
            regions={"eu": "EU"},
            credentials=credentials,
        )
    )
    router.handle_text(ENGINEER, "open acme --service archiving --region eu")
    router.services.rfi.bind_thread("acme", "C0ACME", "1.0", "U0ENG")
    for n, text in enumerate(
        [
            CONTACTS,
            "next",
            "127.0.0.41",
            "next",
            "acme.example",
            "next",
            "Exchange 2010",
            "none",
            "POP",
        ]
    ):
        router.services.rfi.reply(Incoming("C0ACME", "1.0", f"5.{n}", "U0CUST", text))
    saved = credentials.submit(
        CUSTOMER,
        "acme",
        "pop",
        {
            "host": POP_HOST,
            "port": str(dovecot_server.pop3s_port),
            "security": "pop3s",
            "username": JOURNAL_USER,
            "password": JOURNAL_PASSWORD,
        },
    )
    assert not isinstance(saved, CredentialErrors), saved

    report = checks.run(router.handle_text(ENGINEER, "check acme journaling"), "U0ENG")  # type: ignore[arg-type]
    (pop,) = [r for r in report.results if r.id == "journaling.pop"]
    assert pop.status is CheckStatus.PASS, pop
    assert f"{len(JOURNAL_MESSAGES)} message" in pop.summary + " ".join(pop.evidence)
    assert JOURNAL_PASSWORD not in repr(report)
    with database.engine.connect() as connection:
        stored = repr(connection.exec_driver_sql("SELECT * FROM check_run").all())
    assert JOURNAL_PASSWORD not in stored
