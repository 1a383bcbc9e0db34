"""Credentials for customer servers: the POP journal mailbox and the directory (LDAP).

They are typed into a Slack modal, never into a channel. The secret is sealed with
CONNECT_SECRET_KEY before it reaches the store, is never part of a result, a message, an audit
entry or a log line, and is opened only for the probe that logs in with it.
"""

from __future__ import annotations

import re
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from commands.checks.directory.stages import DIRECTORY_TYPES, DirectoryInputError, validate_base_dn
from commands.core import audit
from commands.core.access import find_onboarding
from commands.core.context import Caller, Refused
from commands.core.text import Code, Command, Text
from commands.core.views import OnboardingView, view_of
from commands.rfi.validators import Invalid, forwarding_hosts
from commands.secrets import SecretBox, SecretsUnavailable
from store import credentials as store
from store import onboardings
from store.db import Database
from store.models import Credential, utcnow


@dataclass(frozen=True)
class Mode:
    key: str
    label: str
    port: int


# POP journaling (issue 5): TLS from the first byte on 995, or STLS on 110. Plain POP would send
# the password in clear, so it is not offered.
POP_MODES: dict[str, Mode] = {
    "pop3s": Mode("pop3s", "POP3S (TLS, port 995)", 995),
    "stls": Mode("stls", "POP3 with STLS (port 110)", 110),
}
# The directory (issue 6): LDAPS on 636 or StartTLS on 389, as the gateway's own directory
# sync connects. Plain LDAP on 389 is possible, but the bind password then crosses the network
# in clear, so it is stored only with an explicit acknowledgement.
LDAP_MODES: dict[str, Mode] = {
    "ldaps": Mode("ldaps", "LDAPS (TLS, port 636)", 636),
    "starttls": Mode("starttls", "LDAP with StartTLS (port 389)", 389),
    "plain": Mode("plain", "Plain LDAP, no encryption (port 389)", 389),
}
KINDS: dict[str, dict[str, Mode]] = {"pop": POP_MODES, "ldap": LDAP_MODES}
KIND_TITLES = {"pop": "POP journal mailbox", "ldap": "Directory (LDAP)"}
DIRECTORY_TYPE_LABELS = {"active_directory": "Active Directory", "ldap": "Other LDAP directory"}
PLAIN_ACK = "plain_ok"  # the tick that accepts a bind password sent in clear
MAX_CA_CHARS = 3_000  # a Slack text input holds 3,000 characters
MAX_USERNAME_CHARS = 1_024
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
HIDDEN = "password"  # the one field whose value is never shown, stored in clear or logged
FIELDS = ("host", "port", "security", "username", HIDDEN)


@dataclass(frozen=True)
class CredentialForm:
    """What the modal shows: the current values, except the secret (only whether one is set)."""

    key: str
    name: str
    kind: str
    host: str = ""
    port: int | None = None
    security: str = ""
    username: str = ""
    has_secret: bool = False
    # LDAP: base_dn, directory_type, ca_pem, plain_ok (never a secret).
    options: Mapping[str, Any] = field(default_factory=dict)
    public = False


@dataclass(frozen=True)
class CredentialsSaved:
    onboarding: OnboardingView
    kind: str
    host: str
    port: int
    security: str
    username: str
    by: str
    options: Mapping[str, Any] = field(default_factory=dict)
    public = True

    @property
    def in_clear(self) -> bool:
        return self.kind == "ldap" and self.security == "plain"


@dataclass(frozen=True)
class CredentialErrors:
    errors: dict[str, str]  # field -> what is wrong


@dataclass(frozen=True)
class LoginDetails:
    """Everything a probe needs to log in. Only the probe holds it, and only in memory."""

    host: str
    port: int
    security: str
    username: str
    password: str
    options: Mapping[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:  # a stray log line must not carry the password
        return f"LoginDetails({self.username}@{self.host}:{self.port}, {self.security})"


class CredentialService:
    def __init__(self, db: Database, box: SecretBox, *, allow_private: bool) -> None:
        self.db = db
        self.box = box
        self.allow_private = allow_private

    def form(self, caller: Caller, key: str | None, kind: str | None) -> CredentialForm:
        kind = _kind(kind)
        if not self.box.available:
            raise Refused(NO_KEY)
        with self.db.session() as session:
            onboarding = find_onboarding(session, caller, key, verb="credentials")
            if onboarding.closed_at is not None:
                raise Refused(Text("{key} is closed.", key=onboarding.key))
            assert onboarding.id is not None
            row = store.credential(session, onboarding.id, kind)
            if row is None:
                return CredentialForm(onboarding.key, onboarding.name, kind)
            return CredentialForm(
                onboarding.key,
                onboarding.name,
                kind,
                row.host,
                row.port,
                row.security,
                row.username,
                has_secret=True,
                options=row.options or {},
            )

    def submit(
        self, caller: Caller, key: str, kind: str, fields: Mapping[str, str]
    ) -> CredentialErrors | CredentialsSaved:
        """Validate every field, then seal and store; any error means nothing is stored.

        `caller` is who submitted the form: the onboarding is found for them exactly as for a
        command, so a form naming another customer's key is refused like a typed one."""
        user_id = caller.user_id
        kind = _kind(kind)
        errors: dict[str, str] = {}
        entered = self._entered(kind, fields, errors)
        host, port, security, username = (
            entered.host,
            entered.port,
            entered.security,
            entered.username,
        )
        options, password = entered.options, entered.password
        with self.db.session(write=True) as session:
            onboarding = find_onboarding(session, caller, key, verb="credentials", for_update=True)
            if onboarding.closed_at is not None:
                raise Refused(Text("{key} is not open.", key=onboarding.key))
            assert onboarding.id is not None
            row = store.credential(session, onboarding.id, kind)
            _check_kept_password(row, entered, errors)
            if errors:
                return CredentialErrors(errors)
            assert host is not None
            assert port is not None
            if password:
                try:
                    sealed = self.box.seal(password)
                except SecretsUnavailable:
                    return CredentialErrors({"password": "The secret key is not usable."})
            else:
                # An empty password field keeps the stored one: the form never shows it back
                # (with nothing stored, _check_kept_password refused it above).
                assert row is not None
                sealed = row.sealed_secret
            row = row or Credential(
                onboarding_id=onboarding.id,
                kind=kind,
                host=host,
                port=port,
                security=security,
                username=username,
                sealed_secret=sealed,
                set_by=user_id,
            )
            row.host, row.port, row.security, row.username = host, port, security, username
            row.sealed_secret, row.set_by, row.set_at = sealed, user_id, utcnow()
            row.options = options or None
            store.save(session, row)
            # Which server and which user; the secret only as "changed" or not.
            saved = audit.CredentialsSet(
                kind,
                host,
                port,
                security,
                username,
                secret_changed=bool(password),
                base_dn=options.get("base_dn"),
                directory_type=options.get("directory_type"),
                plain_ok=options.get(PLAIN_ACK),
                ca_given=bool(options.get("ca_pem")),
            )
            audit.record(session, onboarding.id, user_id, saved)
            return CredentialsSaved(
                view_of(session, onboarding),
                kind,
                host,
                port,
                security,
                username,
                user_id,
                options=options,
            )

    def _entered(self, kind: str, fields: Mapping[str, str], errors: dict[str, str]) -> Entered:
        """The form's fields checked one by one; each problem goes into `errors` by field."""
        modes = KINDS[kind]
        host = self._host(fields.get("host", ""), errors)
        security = (fields.get("security") or "").strip()
        if security not in modes:
            errors["security"] = "Choose how to connect: " + " or ".join(
                m.label for m in modes.values()
            )
        port = _port(fields.get("port", ""), modes.get(security), errors)
        username = (fields.get("username") or "").strip()
        options: dict[str, Any] = {}
        if kind == "ldap":
            username = _bind_dn(username, errors)
            options = _ldap_options(fields, security, errors)
        elif not username or len(username) > 255 or _CONTROL.search(username):
            errors["username"] = "Give the mailbox's user name (up to 255 characters)."
        password = fields.get(HIDDEN) or ""
        if len(password) > 1024 or _CONTROL.search(password):
            errors[HIDDEN] = "The password is too long or contains control characters."
        if not self.box.available:
            errors[HIDDEN] = "CONNECT_SECRET_KEY is not set, so nothing can be stored."
        return Entered(host, port, security, username, options, password)

    def login(self, key: str, kind: str) -> LoginDetails | None:
        """The stored details with the secret opened, for a probe; None when none are stored."""
        with self.db.session() as session:
            onboarding = onboardings.get_by_key(session, key)
            if onboarding is None or onboarding.id is None:
                return None
            row = store.credential(session, onboarding.id, kind)
        if row is None:
            return None
        return LoginDetails(
            row.host,
            row.port,
            row.security,
            row.username,
            self.box.open(row.sealed_secret),
            options=row.options or {},
        )

    def _host(self, text: str, errors: dict[str, str]) -> str | None:
        try:
            parsed = forwarding_hosts(text, allow_private=self.allow_private)
        except Invalid as exc:
            errors["host"] = f"{exc.problem} For example: {exc.example}"
            return None
        if len(parsed.values) != 1 or parsed.values[0].port is not None:
            errors["host"] = (
                "Give one host name or address, without a port (the port has its field)."
            )
            return None
        return parsed.values[0].host


NO_KEY = Text(
    "Credentials are stored encrypted, and no key is set: an administrator sets "
    "{variable} (a Fernet key) first. Nothing was stored.",
    variable=Code("CONNECT_SECRET_KEY"),
)


# The fields that say where a password goes; while one of them is wrong, its own error says so.
_WHERE_FIELDS = frozenset({"host", "port", "security", "username", "ca_pem"})


@dataclass(frozen=True)
class Entered:
    """What the form held, checked (None where a field was wrong). Never logged: it holds the
    password."""

    host: str | None
    port: int | None
    security: str
    username: str
    options: dict[str, Any]
    password: str = field(repr=False)


def _check_kept_password(row: Credential | None, entered: Entered, errors: dict[str, str]) -> None:
    """An empty password field keeps the stored password, but only for the server it was
    given for: otherwise anyone could send it to a host of their choosing."""
    if entered.password:
        return
    if row is None:
        errors[HIDDEN] = "Give the password (it is stored encrypted)."
        return
    if not errors.keys().isdisjoint(_WHERE_FIELDS):
        return  # that field's own error says what is wrong first
    stored = row.options or {}
    changed = [
        name
        for name, same in (
            ("host", entered.host == row.host),
            ("port", entered.port == row.port),
            ("security", entered.security == row.security),
            ("user name", entered.username == row.username),
            ("CA certificate", entered.options.get("ca_pem") == stored.get("ca_pem")),
        )
        if not same
    ]
    if changed:
        errors[HIDDEN] = (
            f"You changed the {' and '.join(changed)}: give the password again. A stored "
            "password is only ever sent to the server it was given for."
        )


def _kind(kind: str | None) -> str:
    if kind is None or kind.lower() not in KINDS:
        raise Refused(
            Text(
                "Say which credentials: {pop} (the POP journal mailbox) or {ldap} (the "
                "directory the recipients are read from).",
                pop=Command("credentials acme pop"),
                ldap=Command("credentials acme ldap"),
            )
        )
    return kind.lower()


def _bind_dn(text: str, errors: dict[str, str]) -> str:
    """A DN (cn=svc,dc=acme,dc=com) or, for Active Directory, a user principal name."""
    if not text or len(text) > MAX_USERNAME_CHARS or _CONTROL.search(text):
        errors["username"] = (
            "Give the account the gateway binds as: a DN such as "
            "cn=mimecast,ou=Service,dc=acme,dc=com, or svc-mimecast@acme.com for Active Directory."
        )
    elif "=" in text and "@" not in text.partition(",")[0]:
        try:
            validate_base_dn(text)
        except DirectoryInputError as exc:
            errors["username"] = f"The bind DN is not valid: {exc}."[:150]
    return text


def _ldap_options(
    fields: Mapping[str, str], security: str, errors: dict[str, str]
) -> dict[str, Any]:
    options: dict[str, Any] = {}
    try:
        options["base_dn"] = validate_base_dn(fields.get("base_dn") or "")
    except DirectoryInputError as exc:
        errors["base_dn"] = f"The base DN is not valid: {exc}."[:150]
    directory_type = (fields.get("directory_type") or "").strip()
    if directory_type not in DIRECTORY_TYPES:
        errors["directory_type"] = "Choose Active Directory or another LDAP directory."
    options["directory_type"] = directory_type
    ca_pem = (fields.get("ca_pem") or "").strip()
    if ca_pem:
        problem = _ca_problem(ca_pem)
        if problem:
            errors["ca_pem"] = problem
        options["ca_pem"] = ca_pem
    if security == "plain":
        if (fields.get(PLAIN_ACK) or "").strip() != "yes":
            errors[PLAIN_ACK] = (
                "Plain LDAP sends the bind password across the network in clear. Tick the box "
                "to accept that, or choose LDAPS or StartTLS."
            )
        options[PLAIN_ACK] = True
    return options


def _ca_problem(pem: str) -> str | None:
    if len(pem) > MAX_CA_CHARS:
        return f"The CA certificate is longer than {MAX_CA_CHARS} characters."
    if "-----BEGIN CERTIFICATE-----" not in pem:
        return "Paste the CA certificate in PEM form (-----BEGIN CERTIFICATE----- ...)."
    try:
        ssl.create_default_context(cadata=pem)
    except (ssl.SSLError, ValueError) as exc:
        return f"The CA certificate cannot be read: {exc}."[:150]
    return None


def _port(text: str, mode: Mode | None, errors: dict[str, str]) -> int | None:
    text = (text or "").strip()
    if not text:
        return mode.port if mode else None
    if not text.isdigit() or not 0 < int(text) < 65536:
        errors["port"] = "A port is a number from 1 to 65535, e.g. 995."
        return None
    return int(text)
