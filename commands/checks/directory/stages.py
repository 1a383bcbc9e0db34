"""The `recipients.directory` check: can the gateway read the customer's directory, and what
does it find there?

Each stage is its own result, so the customer knows which rule or setting is wrong:

  recipients.directory.target   the host cleared by the network-target guard
  recipients.directory.connect  TCP to the port (the firewall rule: 389 LDAP, 636 LDAPS)
  recipients.directory.tls      the handshake, with the certificate verified (untrusted CA,
                                host name mismatch, expired each named)
  recipients.directory.bind     the bind DN and password (the password is never shown)
  recipients.directory.search   the base DN and the paged search
  recipients.directory          the roll-up: users, groups, addresses per RFI domain

Pure inputs (DirectorySettings) in, plain data (DirectoryReport) out. ldap3 is synchronous, so
the LDAP work runs in a thread. The TCP and TLS stages are made by hand first (a StartTLS
request is a fixed 31-byte message) so that each failure is named exactly; the bind and search
then use ldap3 on a fresh connection to the same address, with the same verification.
"""

from __future__ import annotations

import asyncio
import math
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import ldap3
from ldap3.core.exceptions import LDAPException
from ldap3.utils.conv import escape_filter_chars
from ldap3.utils.dn import parse_dn

from commands.checks.dns.resolver import DnsResolver
from commands.checks.probes.guard import Target, TargetRefused, TargetUnresolved, resolve_target
from commands.checks.probes.tls import TlsProblem, cert_info, failure_from
from commands.checks.result import CheckResult, CheckStatus, worst

CHECK_ID = "recipients.directory"
SECURITY_PORTS = {"ldaps": 636, "starttls": 389, "plain": 389}
DIRECTORY_TYPES = ("active_directory", "ldap")
PAGE_SIZE = 250  # below every common server limit (AD: 1,000; ours in tests: 500)
OUTSIDE_SHOWN = 50  # addresses outside the RFI's domains listed in the result
SAMPLE_SIZE = 10
UAC_DISABLED = 0x2  # userAccountControl ACCOUNTDISABLE
PAGED_RESULTS_OID = "1.2.840.113556.1.4.319"  # RFC 2696
PORT_RULES = (
    "the gateway reads the directory on TCP 389 (LDAP, here with StartTLS) or TCP 636 (LDAPS): "
    "the firewall must let the gateway's ranges in on the port chosen"
)

# LDAPMessage { messageID 1, extendedReq { requestName "1.3.6.1.4.1.1466.20037" } }
_STARTTLS_OID = b"1.3.6.1.4.1.1466.20037"
_STARTTLS_REQUEST = (
    b"\x30\x1d\x02\x01\x01\x77\x18\x80" + bytes([len(_STARTTLS_OID)]) + _STARTTLS_OID
)


class DirectoryInputError(ValueError):
    """A setting is malformed (said before anything is dialled)."""


@dataclass(frozen=True)
class DirectorySettings:
    """What `/connect credentials acme ldap` stores (the password decrypted just for the run)."""

    host: str
    security: str  # "ldaps" | "starttls" | "plain"
    bind_dn: str
    password: str = field(repr=False)
    base_dn: str
    directory_type: str = "active_directory"  # or "ldap"
    domains: tuple[str, ...] = ()  # the RFI's domains
    port: int | None = None  # None: 636 for ldaps, 389 otherwise
    ca_pem: str | None = None  # the CA to trust instead of the system store
    allow_private: bool = False
    timeout: float = 10.0

    @property
    def effective_port(self) -> int:
        return self.port or SECURITY_PORTS.get(self.security, 389)


@dataclass(frozen=True)
class Recipient:
    """One deliverable address (a user's mail, an alias from proxyAddresses, a group's mail)."""

    address: str
    display_name: str
    groups: tuple[str, ...] = ()
    kind: str = "user"  # "user" | "group"


@dataclass(frozen=True)
class DirectoryReport:
    results: tuple[CheckResult, ...]
    users: int = 0  # user entries that gave at least one address
    groups: int = 0  # groups that gave at least one address
    entries_read: int = 0  # user entries read through paging (all of them, addressed or not)
    disabled_skipped: int = 0
    without_address: int = 0
    per_domain: dict[str, int] = field(default_factory=dict)  # RFI domain -> addresses
    outside: tuple[str, ...] = ()  # addresses outside the RFI's domains (capped)
    outside_count: int = 0
    sample: tuple[Recipient, ...] = ()
    recipients: tuple[Recipient, ...] = ()  # everything, for `sync` to store

    @property
    def status(self) -> CheckStatus:
        return worst(self.results)

    @property
    def summary(self) -> CheckResult:
        return self.results[-1]


class _Stop(Exception):
    """A stage failed; its result is already recorded."""


def _scrub(text: str, secret: str) -> str:
    return text.replace(secret, "********") if secret else text


def _domain_of(address: str) -> str:
    return address.rpartition("@")[2].rstrip(".").lower()


def _first(values: object) -> str:
    if isinstance(values, list | tuple):
        return str(values[0]) if values else ""
    return "" if values is None else str(values)


def _as_list(values: object) -> list[str]:
    if values is None:
        return []
    if isinstance(values, list | tuple):
        return [str(v) for v in values]
    return [str(values)]


def _addresses(attrs: dict[str, Any]) -> list[str]:
    """mail, then every smtp:/SMTP: proxy address, lower-cased, in order, without repeats."""
    found: list[str] = []
    for value in _as_list(attrs.get("mail")):
        found.append(value.strip().lower())
    for value in _as_list(attrs.get("proxyAddresses")):
        prefix, _, rest = value.partition(":")
        if prefix.lower() == "smtp" and rest:
            found.append(rest.strip().lower())
    return [a for i, a in enumerate(found) if "@" in a and a not in found[:i]]


def validate_base_dn(base_dn: str) -> str:
    """The base DN, checked with ldap3's parser; DirectoryInputError says what is wrong."""
    text = (base_dn or "").strip()
    if not text:
        raise DirectoryInputError("the base DN is empty (for example dc=acme,dc=com)")
    try:
        parts = parse_dn(text, escape=False, strip=True)
    except LDAPException as exc:
        raise DirectoryInputError(f"the base DN {text!r} is not a valid DN ({exc})") from exc
    if not parts or any(not attr or not value for attr, value, _sep in parts):
        raise DirectoryInputError(f"the base DN {text!r} is not a valid DN")
    return text


def address_filter(address: str) -> str:
    """An LDAP filter for one address (mail or an smtp: proxy), the value escaped."""
    value = escape_filter_chars(address.strip())
    return f"(|(mail={value})(proxyAddresses=smtp:{value}))"


class _Run:
    def __init__(self, settings: DirectorySettings) -> None:
        self.s = settings
        self.results: list[CheckResult] = []

    def add(
        self,
        stage: str,
        status: CheckStatus,
        summary: str,
        evidence: tuple[str, ...] = (),
        fix: str | None = None,
    ) -> None:
        password = self.s.password
        self.results.append(
            CheckResult(
                id=f"{CHECK_ID}.{stage}",
                status=status,
                subject=self.s.host,
                summary=_scrub(summary, password),
                evidence=tuple(_scrub(e, password) for e in evidence),
                fix=_scrub(fix, password) if fix else None,
            )
        )

    def fail(
        self,
        stage: str,
        summary: str,
        evidence: tuple[str, ...] = (),
        fix: str | None = None,
        status: CheckStatus = CheckStatus.FAIL,
    ) -> _Stop:
        self.add(stage, status, summary, evidence, fix)
        return _Stop()


def _tls_context(ca_pem: str | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cadata=ca_pem) if ca_pem else ssl.create_default_context()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def _read_tlv(sock: socket.socket, buffer: bytearray) -> bytes:
    """One BER TLV from the socket (the StartTLS response), at most 64 KiB."""

    def need(n: int) -> None:
        while len(buffer) < n:
            chunk = sock.recv(4096)
            if not chunk:
                raise ConnectionError("the server closed the connection")
            buffer.extend(chunk)
            if len(buffer) > 65536:
                raise ConnectionError("the server sent an over-long reply")

    need(2)
    length, offset = buffer[1], 2
    if length & 0x80:
        count = length & 0x7F
        if not 0 < count <= 3:
            raise ConnectionError("the server's reply is not LDAP")
        need(2 + count)
        length = int.from_bytes(buffer[2 : 2 + count], "big")
        offset = 2 + count
    need(offset + length)
    return bytes(buffer[: offset + length])


def _starttls_code(message: bytes) -> int:
    """The resultCode of an ExtendedResponse (tag 0x78; its first element is ENUMERATED)."""
    index = message.find(b"\x78")
    while index != -1:
        cursor = index + 2 if message[index + 1] < 0x80 else index + 2 + (message[index + 1] & 0x7F)
        if message[cursor : cursor + 2] == b"\x0a\x01":
            return message[cursor + 2]
        index = message.find(b"\x78", index + 1)
    raise ConnectionError("the server's reply to StartTLS is not LDAP")


def _stage_connect(run: _Run, target: Target) -> tuple[socket.socket, str]:
    s = run.s
    port = s.effective_port
    tried: list[str] = []
    timed_out = False
    for address in (str(a) for a in target.addresses):
        try:
            return socket.create_connection((address, port), timeout=s.timeout), address
        except TimeoutError:
            timed_out = True
            tried.append(f"{address}:{port}: no answer within {s.timeout:g} s")
        except OSError as exc:
            tried.append(f"{address}:{port}: {exc.strerror or exc}")
    if timed_out:
        raise run.fail(
            "connect",
            f"No answer from {target.describe()} on TCP {port}: a firewall probably drops the "
            "connection",
            (*tried, PORT_RULES),
            f"Allow the gateway's ranges in on TCP {port} to the directory server",
            status=CheckStatus.UNKNOWN,
        )
    raise run.fail(
        "connect",
        f"{target.describe()} refuses connections on TCP {port}: nothing listens there, or a "
        "firewall rejects it",
        (*tried, PORT_RULES),
        f"Check the port ({SECURITY_PORTS['ldaps']} for LDAPS, {SECURITY_PORTS['starttls']} "
        "for LDAP/StartTLS) and open it to the gateway's ranges",
    )


def _stage_tls(run: _Run, target: Target, sock: socket.socket, address: str) -> str:
    s = run.s
    try:
        context = _tls_context(s.ca_pem)
    except (ssl.SSLError, ValueError) as exc:
        sock.close()
        raise run.fail(
            "tls",
            "The CA certificate given is not a usable PEM certificate",
            (str(exc),),
            "Paste the issuing CA's certificate (-----BEGIN CERTIFICATE----- ...)",
        ) from None
    sock.settimeout(s.timeout)
    try:
        if s.security == "starttls":
            sock.sendall(_STARTTLS_REQUEST)
            code = _starttls_code(_read_tlv(sock, bytearray()))
            if code != 0:
                sock.close()
                raise run.fail(
                    "tls",
                    f"{target.describe()} refused StartTLS (result code {code}): the directory "
                    "has no certificate installed for LDAP on port 389",
                    (PORT_RULES,),
                    "Install a certificate on the directory server, or use LDAPS on 636",
                )
        wrapped = context.wrap_socket(sock, server_hostname=target.host)
    except (ssl.SSLError, ssl.CertificateError, OSError) as exc:
        sock.close()
        failure = failure_from(exc)
        fixes = {
            TlsProblem.UNTRUSTED: "Give the CA certificate that issued the directory's "
            "certificate (or install one from a public CA)",
            TlsProblem.SELF_SIGNED: "Install a certificate issued by a CA, or give this "
            "certificate as the CA",
            TlsProblem.HOSTNAME: f"Install a certificate for {target.host}, or enter the host "
            "name the certificate is for",
            TlsProblem.EXPIRED: "Renew the directory's certificate",
            TlsProblem.NOT_YET_VALID: "Check the directory server's clock and certificate",
        }
        raise run.fail(
            "tls",
            f"TLS to {target.describe()} port {s.effective_port} failed: {failure.describe()}",
            (f"problem: {failure.problem}", f"mode: {s.security}"),
            fixes.get(failure.problem, "Check the directory's TLS settings"),
        ) from None
    info = cert_info(wrapped.getpeercert())
    version = wrapped.version() or "TLS"
    wrapped.close()
    run.add(
        "tls",
        CheckStatus.PASS,
        f"{version} with a verified certificate ({s.security} on port {s.effective_port})",
        (info.describe(),) if info else (),
    )
    return address


def _connection(s: DirectorySettings, target: Target, address: str) -> ldap3.Connection:
    tls = None
    if s.security in ("ldaps", "starttls"):
        tls = ldap3.Tls(
            validate=ssl.CERT_REQUIRED,
            ca_certs_data=s.ca_pem or None,
            valid_names=[target.host],
            sni=None if target.is_literal else target.host,
        )
    server = ldap3.Server(
        address,
        port=s.effective_port,
        use_ssl=s.security == "ldaps",
        tls=tls,
        get_info=ldap3.NONE,
        connect_timeout=s.timeout,
    )
    return ldap3.Connection(
        server,
        user=s.bind_dn,
        password=s.password,
        authentication=ldap3.SIMPLE,
        auto_bind=ldap3.AUTO_BIND_NONE,
        read_only=True,
        receive_timeout=max(1, math.ceil(s.timeout)),  # ldap3 packs it as an integer
        raise_exceptions=False,
        auto_referrals=False,
    )


def _stage_bind(run: _Run, target: Target, address: str) -> ldap3.Connection:
    s = run.s
    conn = _connection(s, target, address)
    try:
        conn.open()
        if s.security == "starttls" and not conn.start_tls():
            words = str((conn.result or {}).get("description"))
            conn.unbind()
            raise run.fail("bind", "StartTLS failed on the second connection", (words,))
        ok = conn.bind()
    except (LDAPException, OSError, ValueError) as exc:
        conn.unbind()
        raise run.fail(
            "bind",
            f"The LDAP session with {target.describe()} failed before the bind",
            (f"{type(exc).__name__}: {exc}",),
        ) from None
    if not ok:
        result = conn.result or {}
        code = result.get("result")
        words = f"{result.get('description', '')} {result.get('message', '')}".strip()
        conn.unbind()
        if code == 49:
            raise run.fail(
                "bind",
                f"The directory refused the bind for {s.bind_dn}: wrong bind DN or password "
                "(invalidCredentials)",
                (f"server said: {words}",),
                "Re-enter the bind DN and password with /connect credentials",
            )
        if code in (8, 13):
            raise run.fail(
                "bind",
                "The directory requires an encrypted connection for this bind",
                (f"server said: {words}",),
                "Use StartTLS on 389 or LDAPS on 636",
            )
        raise run.fail("bind", f"The bind for {s.bind_dn} failed ({words})", (f"code {code}",))
    if s.security == "plain":
        run.add(
            "bind",
            CheckStatus.WARN,
            f"Bound as {s.bind_dn}, but over plain LDAP: the bind password crossed the network "
            "in clear",
            (PORT_RULES,),
            "Use StartTLS on 389 or LDAPS on 636 so the password travels encrypted",
        )
    else:
        run.add("bind", CheckStatus.PASS, f"Bound as {s.bind_dn}")
    return conn


def paged(
    conn: ldap3.Connection, base: str, search_filter: str, attributes: list[str]
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every entry, page by page (RFC 2696); LDAPException-free, errors in conn.result."""
    cookie: str | bytes | None = None
    while True:
        conn.search(
            base,
            search_filter,
            search_scope=ldap3.SUBTREE,
            attributes=attributes,
            paged_size=PAGE_SIZE,
            paged_cookie=cookie,
        )
        result = conn.result or {}
        if result.get("result") not in (0, None):
            raise _SearchError(result)
        for entry in conn.response or ():
            if entry.get("type") == "searchResEntry":
                yield entry["dn"], dict(entry.get("attributes") or {})
        try:
            cookie = result["controls"][PAGED_RESULTS_OID]["value"]["cookie"]
        except (KeyError, TypeError):
            cookie = None
        if not cookie:
            return


class _SearchError(Exception):
    def __init__(self, result: dict[str, Any]) -> None:
        super().__init__(result.get("description"))
        self.result = result


def _stage_search(run: _Run, conn: ldap3.Connection, base: str) -> DirectoryReport:
    _check_base_dn(run, conn, base)
    ad = run.s.directory_type == "active_directory"
    found = _Found()
    try:
        group_entries, groups_of = _read_groups(conn, base, ad)
        users = _read_users(conn, base, ad, groups_of, found)
        groups = _add_group_addresses(group_entries, ad, found)
    except _SearchError as exc:
        raise run.fail(
            "search",
            f"The search under {base} failed: {exc.result.get('description')} "
            f"{exc.result.get('message') or ''}".strip(),
            (f"code {exc.result.get('result')}",),
        ) from None
    finally:
        conn.unbind()
    return _report(
        run, found.recipients, users.users, groups, users.read, users.disabled, users.without
    )


def _check_base_dn(run: _Run, conn: ldap3.Connection, base: str) -> None:
    """The base DN must exist and be readable before anything is searched under it."""
    conn.search(base, "(objectClass=*)", search_scope=ldap3.BASE, attributes=["1.1"])
    code = (conn.result or {}).get("result")
    if code == 32:
        raise run.fail(
            "search",
            f"The base DN {base} does not exist in the directory (noSuchObject)",
            (f"matched: {(conn.result or {}).get('dn') or 'nothing'}",),
            "Enter the DN of the directory's root or of the OU that holds the users",
        )
    if code != 0:
        raise run.fail(
            "search",
            f"Reading the base DN {base} failed ({(conn.result or {}).get('description')})",
        )


@dataclass
class _Found:
    """The recipients found so far: each address once, with the first entry that gave it."""

    recipients: list[Recipient] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)

    def add(self, addresses: list[str], display: str, groups: tuple[str, ...], kind: str) -> None:
        for address in addresses:
            if address not in self.seen:
                self.seen.add(address)
                self.recipients.append(Recipient(address, display, groups, kind))


class _UserCount(NamedTuple):
    users: int  # user entries that gave at least one address
    read: int  # user entries read (computers left out)
    disabled: int  # disabled Active Directory accounts left out
    without: int  # users without an address


def _read_groups(
    conn: ldap3.Connection, base: str, ad: bool
) -> tuple[list[tuple[str, dict[str, Any]]], dict[str, list[str]]]:
    """Every group (named by its cn, or its DN without one), and the groups each member DN
    (lower-cased) is in."""
    if ad:
        group_filter = "(objectClass=group)"
    else:
        group_filter = "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames))"
    group_attrs = ["cn", "displayName", "mail", "proxyAddresses", "member", "uniqueMember"]
    groups_of: dict[str, list[str]] = {}
    group_entries: list[tuple[str, dict[str, Any]]] = []
    for dn, attrs in paged(conn, base, group_filter, group_attrs):
        name = _first(attrs.get("cn")) or dn
        group_entries.append((name, attrs))
        for member in _as_list(attrs.get("member")) + _as_list(attrs.get("uniqueMember")):
            groups_of.setdefault(member.lower(), []).append(name)
    return group_entries, groups_of


def _read_users(
    conn: ldap3.Connection, base: str, ad: bool, groups_of: dict[str, list[str]], found: _Found
) -> _UserCount:
    """Every person's addresses (AD: user objects that are not computers or disabled; LDAP:
    inetOrgPerson), each with the person's groups."""
    if ad:
        user_filter = "(objectClass=user)"
        user_attrs = [
            "mail",
            "proxyAddresses",
            "displayName",
            "cn",
            "userAccountControl",
            "objectClass",
        ]
    else:
        user_filter = "(objectClass=inetOrgPerson)"
        user_attrs = ["mail", "displayName", "cn"]
    users = read = disabled = without = 0
    for dn, attrs in paged(conn, base, user_filter, user_attrs):
        classes = {c.lower() for c in _as_list(attrs.get("objectClass"))}
        if "computer" in classes:
            continue
        read += 1
        if ad and _disabled(attrs):
            disabled += 1
            continue
        addresses = _addresses(attrs if ad else {"mail": attrs.get("mail")})
        if not addresses:
            without += 1
            continue
        users += 1
        display = _first(attrs.get("displayName")) or _first(attrs.get("cn"))
        member_of = tuple(sorted(set(groups_of.get(dn.lower(), ()))))
        found.add(addresses, display, member_of, "user")
    return _UserCount(users, read, disabled, without)


def _disabled(attrs: dict[str, Any]) -> bool:
    """Active Directory's userAccountControl has the account disabled."""
    try:
        uac = int(_first(attrs.get("userAccountControl")) or 0)
    except ValueError:
        uac = 0
    return bool(uac & UAC_DISABLED)


def _add_group_addresses(
    group_entries: list[tuple[str, dict[str, Any]]], ad: bool, found: _Found
) -> int:
    """The groups' own addresses, after the users'; the number of groups that have one."""
    groups = 0
    for name, attrs in group_entries:
        addresses = _addresses(attrs if ad else {"mail": attrs.get("mail")})
        if addresses:
            groups += 1
        display = _first(attrs.get("displayName")) or name
        found.add(addresses, display, (), "group")
    return groups


def _report(
    run: _Run,
    recipients: list[Recipient],
    users: int,
    groups: int,
    read: int,
    disabled: int,
    without: int,
) -> DirectoryReport:
    s = run.s
    domains = [d.strip().rstrip(".").lower() for d in s.domains if d.strip()]
    per_domain = dict.fromkeys(domains, 0)
    outside: list[str] = []
    for r in recipients:
        domain = _domain_of(r.address)
        if domain in per_domain:
            per_domain[domain] += 1
        else:
            outside.append(r.address)
    outside.sort()
    evidence = (
        f"{read} user entries read (paged, {PAGE_SIZE} a page)",
        f"{disabled} disabled accounts left out"
        if s.directory_type == "active_directory"
        else "directory type: LDAP (inetOrgPerson)",
        f"{without} users without an address",
        *(f"{d}: {n} addresses" for d, n in per_domain.items()),
    )
    run.add(
        "search",
        CheckStatus.PASS if recipients else CheckStatus.FAIL,
        f"{len(recipients)} addresses from {users} users and {groups} groups",
        evidence,
        None if recipients else "Check the base DN and that the bind account may read users",
    )
    empty = [d for d, n in per_domain.items() if n == 0]
    status = CheckStatus.PASS
    parts = [f"{users} users, {groups} groups, {len(recipients)} addresses"]
    fix = None
    if not recipients:
        status = CheckStatus.FAIL
    if empty:
        status = max(status, CheckStatus.WARN, key=lambda x: x.rank)
        parts.append(f"no address in {', '.join(empty)}")
    if outside:  # listed, not held against the directory: the customer may ignore them
        parts.append(f"{len(outside)} addresses in domains not in the RFI")
        fix = "Add those domains to the RFI, or ignore them (they will not be validated)"
    if s.security == "plain":
        status = max(status, CheckStatus.WARN, key=lambda x: x.rank)
        parts.append("the bind password crosses the network in clear (plain LDAP)")
    run.results.append(
        CheckResult(
            id=CHECK_ID,
            status=max(status, worst(run.results), key=lambda x: x.rank),
            subject=s.host,
            summary="; ".join(parts),
            evidence=tuple(f"outside the RFI: {a}" for a in outside[:OUTSIDE_SHOWN]),
            fix=fix,
        )
    )
    return DirectoryReport(
        results=tuple(run.results),
        users=users,
        groups=groups,
        entries_read=read,
        disabled_skipped=disabled,
        without_address=without,
        per_domain=per_domain,
        outside=tuple(outside[:OUTSIDE_SHOWN]),
        outside_count=len(outside),
        sample=tuple(sorted(recipients, key=lambda r: r.address)[:SAMPLE_SIZE]),
        recipients=tuple(recipients),
    )


def _network(run: _Run, target: Target, base: str) -> DirectoryReport:
    sock, address = _stage_connect(run, target)
    run.add(
        "connect",
        CheckStatus.PASS,
        f"TCP {run.s.effective_port} on {address} answers",
        (PORT_RULES,),
    )
    if run.s.security in ("ldaps", "starttls"):
        _stage_tls(run, target, sock, address)
    else:
        sock.close()
    conn = _stage_bind(run, target, address)
    return _stage_search(run, conn, base)


def _closing(run: _Run) -> DirectoryReport:
    run.results.append(
        CheckResult(
            id=CHECK_ID,
            status=worst(run.results),
            subject=run.s.host,
            summary=next(
                (r.summary for r in run.results if r.status.rank >= CheckStatus.UNKNOWN.rank),
                "the directory could not be read",
            ),
            evidence=(PORT_RULES,),
        )
    )
    return DirectoryReport(results=tuple(run.results))


async def check_directory(settings: DirectorySettings, resolver: DnsResolver) -> DirectoryReport:
    """Run every stage in order; a failed stage ends the run with its result named."""
    run = _Run(settings)
    try:
        if settings.security not in SECURITY_PORTS:
            raise run.fail(
                "target",
                f"Unknown security mode {settings.security!r}: use ldaps, starttls or plain",
            )
        if settings.directory_type not in DIRECTORY_TYPES:
            raise run.fail("search", f"Unknown directory type {settings.directory_type!r}")
        try:
            base = validate_base_dn(settings.base_dn)
        except DirectoryInputError as exc:
            raise run.fail(
                "search",
                f"Malformed base DN: {exc}",
                fix="Enter a DN such as dc=acme,dc=com or ou=Users,dc=acme,dc=com",
            ) from None
        try:
            target = await resolve_target(
                settings.host, resolver, allow_private=settings.allow_private
            )
        except TargetRefused as exc:
            raise run.fail("target", f"Refused: {exc.reason}") from None
        except TargetUnresolved as exc:
            raise run.fail(
                "target",
                exc.reason,
                status=CheckStatus.UNKNOWN if exc.timeout else CheckStatus.FAIL,
            ) from None
        run.add("target", CheckStatus.PASS, f"{target.describe()} may be probed")
        return await asyncio.to_thread(_network, run, target, base)
    except _Stop:
        return _closing(run)
    except LDAPException as exc:
        run.add(
            "search",
            CheckStatus.UNKNOWN,
            f"The directory conversation failed: {type(exc).__name__}: {exc}",
        )
        return _closing(run)
