"""The directory half of recipient validation, on SQLite and PostgreSQL against the real slapd:
`/connect credentials acme ldap` (validated, sealed), `/connect check acme recipients`
(the staged directory check plus coverage moving the step), and `/connect sync acme` (stores
every address; a re-sync replaces the directory's set atomically; a failed read keeps it)."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlmodel import select
from support.slapd import (
    BIND_DN,
    BIND_PASSWORD,
    DOMAINS,
    GROUPS,
    LDAP_HOST,
    SUFFIX,
    USER_COUNT,
    SlapdServer,
    user_profile,
)
from support.smtp_servers import SmtpWorld

from bot.render.renderer import render
from commands.checks.result import CheckStatus
from commands.checks.service import CheckReport, CheckService
from commands.core.context import Caller
from commands.core.process import Step, StepState
from commands.core.roles import Role
from commands.credentials import CredentialErrors, CredentialService, CredentialsSaved
from commands.profiles import parse_profile
from commands.recipients.sync import RecipientSync, Synced, SyncFailed
from commands.replies import Refusal, Status
from commands.rfi.service import Incoming
from commands.router import Router
from commands.secrets import SecretBox
from commands.services import Services
from store import recipients as recipient_store
from store.db import Database
from store.models import AuditEvent, Credential, Onboarding, Recipient

ENGINEER = Caller("U0ENG", "C0ACME", "T0TEST", role=Role.ENGINEER)
CUSTOMER = Caller("U0CUST", "C0ACME", "T0CUST")  # a customer contact in acme's channel
PROFILE = {"gateway": "Test Gateway", "version": 1, "regions": {"eu": {"name": "Test Europe"}}}
CONTACTS = "Jane, jane@acme.test, primary\nRaj, raj@acme.test, technical"

ENABLED_WITH_MAIL = [
    p for p in (user_profile(i) for i in range(USER_COUNT)) if p["mail"] and not p["disabled"]
]


class World:
    def __init__(self, database: Database, smtp_world: SmtpWorld, slapd: SlapdServer) -> None:
        self.database = database
        self.slapd = slapd
        self.credentials = CredentialService(
            database, SecretBox(Fernet.generate_key().decode()), allow_private=True
        )
        self.checks = CheckService(
            database,
            parse_profile(PROFILE, "test-profile.yml"),
            smtp_world.resolver,
            credentials=self.credentials,
            allow_private=True,
            timeout=10.0,
        )
        self.sync = RecipientSync(
            database, self.credentials, smtp_world.resolver, allow_private=True, timeout=10.0
        )
        self.router = Router(
            Services.build(
                database,
                allow_private_targets=True,
                checks=self.checks,
                regions={"eu": "Test Europe"},
                credentials=self.credentials,
                sync=self.sync,
            )
        )

    def open(self, domains: str = ", ".join(DOMAINS)) -> None:
        self.router.handle_text(ENGINEER, "open acme --service archiving --region eu")
        self.router.services.rfi.bind_thread("acme", "C0ACME", "1.0", "U0ENG")
        for n, text in enumerate([CONTACTS, "next", "127.0.0.41", "next", domains]):
            self.router.services.rfi.reply(Incoming("C0ACME", "1.0", f"2.{n}", "U0CUST", text))

    def fields(self, **changes: str) -> dict[str, str]:
        values = {
            "host": LDAP_HOST,
            "port": str(self.slapd.ldap_port),
            "security": "starttls",
            "username": BIND_DN,
            "password": BIND_PASSWORD,
            "base_dn": SUFFIX,
            "directory_type": "active_directory",
            "ca_pem": self.slapd.ca_pem,
        }
        values.update(changes)
        return values

    def login(self, **changes: str) -> CredentialsSaved:
        saved = self.credentials.submit(CUSTOMER, "acme", "ldap", self.fields(**changes))
        assert isinstance(saved, CredentialsSaved), saved
        return saved

    def check(self) -> CheckReport:
        plan = self.router.handle_text(ENGINEER, "check acme recipients")
        return self.checks.run(plan, "U0ENG")  # type: ignore[arg-type]

    def addresses(self) -> set[str]:
        with self.database.session() as session:
            return {r.address for r in session.exec(select(Recipient))}

    def step(self) -> StepState:
        status = self.router.handle_text(ENGINEER, "status acme")
        assert isinstance(status, Status)
        return next(s.state for s in status.onboarding.steps if s.step is Step.RECIPIENTS)


@pytest.fixture
def world(database: Database, smtp_world: SmtpWorld, slapd_server: SlapdServer) -> World:
    return World(database, smtp_world, slapd_server)


def expected_addresses() -> set[str]:
    """What the AD-like directory holds for the gateway: enabled users' mail and smtp:
    aliases, and the groups' mail (the slapd fixture's own rules, re-derived here)."""
    found: set[str] = set()
    for p in ENABLED_WITH_MAIL:
        found.add(str(p["mail"]))
        if p["alias"]:
            found.add(str(p["alias"]))
    found.update(mail for mail, _ in GROUPS.values())
    return found


def test_ldap_credentials_are_validated_field_by_field(world: World) -> None:
    world.open()
    bad = world.credentials.submit(
        CUSTOMER,
        "acme",
        "ldap",
        world.fields(
            base_dn="dc=acme,,dc",
            directory_type="novell",
            ca_pem="not a certificate",
            username="cn=reader,dc=acme,=x",
        ),
    )
    assert isinstance(bad, CredentialErrors)
    assert set(bad.errors) == {"base_dn", "directory_type", "ca_pem", "username"}
    # Plain LDAP needs the explicit acknowledgement that the password travels in clear.
    plain = world.credentials.submit(CUSTOMER, "acme", "ldap", world.fields(security="plain"))
    assert isinstance(plain, CredentialErrors)
    assert "in clear" in plain.errors["plain_ok"]
    with world.database.session() as session:
        assert session.exec(select(Credential)).all() == []  # nothing stored on any error

    saved = world.login(security="plain", plain_ok="yes", ca_pem="")
    assert saved.in_clear
    text = render(saved).text
    assert "in clear" in text
    assert BIND_PASSWORD not in text
    with world.database.session() as session:
        row = session.exec(select(Credential)).one()
        events = [
            e.detail for e in session.exec(select(AuditEvent)) if e.action == "credentials.set"
        ]
    assert row.port == world.slapd.ldap_port
    assert row.options == {
        "base_dn": SUFFIX,
        "directory_type": "active_directory",
        "plain_ok": True,
    }
    assert BIND_PASSWORD not in row.sealed_secret
    assert BIND_PASSWORD not in repr(events)


def test_the_form_shows_the_directory_fields_without_the_password(world: World) -> None:
    world.open()
    world.login()
    form = world.router.handle_text(ENGINEER, "credentials acme ldap")
    assert form.kind == "ldap"  # type: ignore[union-attr]
    assert form.options["base_dn"] == SUFFIX  # type: ignore[union-attr]
    assert form.has_secret  # type: ignore[union-attr]
    assert BIND_PASSWORD not in repr(form)


def test_check_reads_the_directory_and_coverage_marks_the_step_done(world: World) -> None:
    world.open()
    before = world.check()
    by_id = {r.id: r for r in before.results}
    # Without a login or a spreadsheet the directory check waits, and coverage fails.
    assert by_id["recipients.directory"].status is CheckStatus.SKIPPED
    assert by_id["recipients.coverage"].status is CheckStatus.FAIL
    assert world.step() is StepState.IN_PROGRESS

    world.login()
    report = world.check()
    statuses = {r.id: r.status for r in report.results}
    for stage in ("target", "connect", "tls", "bind", "search"):
        assert statuses[f"recipients.directory.{stage}"] is CheckStatus.PASS, report.results
    assert statuses["recipients.directory"] is CheckStatus.PASS
    assert statuses["recipients.coverage"] is CheckStatus.PASS
    assert [(m.step, m.after) for m in report.moves] == [(Step.RECIPIENTS, StepState.DONE)]
    assert world.step() is StepState.DONE
    assert BIND_PASSWORD not in repr(report) + render(report).text


def test_coverage_fails_for_a_domain_without_recipients(world: World) -> None:
    world.open(domains="acme.test, acme-eu.test, empty.test")
    world.login()
    report = world.check()
    (result,) = [r for r in report.results if r.id == "recipients.coverage"]
    assert result.status is CheckStatus.FAIL
    assert result.subject == "empty.test"
    assert world.step() is StepState.IN_PROGRESS


def test_a_wrong_password_is_named_at_the_bind_stage(world: World) -> None:
    world.open()
    world.login(password="Not-The-Reader-Password-9")
    report = world.check()
    statuses = {r.id: r.status for r in report.results}
    assert statuses["recipients.directory.bind"] is CheckStatus.FAIL
    assert world.step() is StepState.IN_PROGRESS
    assert "Not-The-Reader-Password-9" not in repr(report) + render(report).text


def test_sync_stores_every_address_and_status_shows_them(world: World) -> None:
    world.open()
    world.login(security="ldaps", port=str(world.slapd.ldaps_port))
    synced = world.router.handle_text(ENGINEER, "sync acme")
    assert isinstance(synced, Synced), synced
    expected = expected_addresses()
    assert world.addresses() == expected
    assert synced.stored == len(expected)
    assert synced.users == len(ENABLED_WITH_MAIL)
    assert synced.outside_count == len([a for a in expected if a.endswith("@other.test")])
    with world.database.session() as session:
        onboarding = session.exec(select(Onboarding)).one()
        per_domain = recipient_store.per_domain(session, onboarding.id)  # type: ignore[arg-type]
        board = session.exec(select(Recipient).where(Recipient.address == "all-staff@acme.test"))
        assert board.one().kind == "group"
    assert per_domain == {
        d: len([a for a in expected if a.endswith("@" + d)]) for d in (*DOMAINS, "other.test")
    }
    status = world.router.handle_text(ENGINEER, "status acme")
    text = render(status).text  # type: ignore[arg-type]
    assert f"{len(expected):,} recipients from the directory" in text
    assert BIND_PASSWORD not in render(synced).text
    history = render(world.router.handle_text(ENGINEER, "history acme")).text  # type: ignore[arg-type]
    assert f"read the directory: {len(expected)} recipients stored (replacing 0)" in history
    assert "set the ldap login" in history
    assert BIND_PASSWORD not in history


def test_a_resync_replaces_the_set_and_a_failed_one_keeps_it(world: World) -> None:
    world.open()
    world.login()
    first = world.router.handle_text(ENGINEER, "sync acme")
    assert isinstance(first, Synced)
    kept = world.addresses()

    # A base DN that reads only one user: the re-sync replaces, not adds.
    only = f"uid=user0000,ou=users,{SUFFIX}"
    world.login(base_dn=only, password="")  # an empty password keeps the stored one
    second = world.router.handle_text(ENGINEER, "sync acme")
    assert isinstance(second, Synced), second
    assert second.replaced == len(kept)
    narrowed = world.addresses()
    assert "user0000@acme.test" in narrowed
    assert len(narrowed) < 10

    # A read that fails at the bind stores nothing and keeps the last good set.
    world.login(base_dn=SUFFIX, password="Wrong-Password-For-Sync-1")
    failed = world.router.handle_text(ENGINEER, "sync acme")
    assert isinstance(failed, SyncFailed)
    assert any(
        r.id == "recipients.directory.bind" and r.status is CheckStatus.FAIL for r in failed.results
    )
    assert world.addresses() == narrowed
    assert "Wrong-Password-For-Sync-1" not in render(failed).text


def test_sync_refuses_without_a_login_and_changes_nothing(world: World, tmp_path: Path) -> None:
    world.open()
    refused = world.router.handle_text(ENGINEER, "sync acme")
    assert isinstance(refused, Refusal)
    assert "/connect credentials acme ldap" in render(refused, door="/connect").text
    assert world.addresses() == set()
