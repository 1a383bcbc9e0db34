"""Real SMTP servers on loopback for the probe tests (aiosmtpd, STARTTLS with the test CA), plus
a closed port, a listener that never answers, and the DNS names that point at them.

Fixtures (register with `-p support.smtp_servers`, or import them into a test module):
  probe_ca      session: the test CA (trusted through ca_file) and its temp folder
  smtp_world    session: every server below on ONE port, each on its own 127.0.2.x address,
                and an NSD serving probe.test and the reverse zone for 127.0.2.0/24
  silent_server function: a fresh never-answering listener (counts connections) on its own port

Every server shares `smtp_world.port` because the gateway's hosts come from the profile, which
has no per-host port: the checks take one port for them, as production takes 25.
"""

from __future__ import annotations

import selectors
import shutil
import socket
import ssl
import tempfile
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from commands.checks.dns import DnsResolver
from support.nsd import NsdServer, free_port
from support.test_ca import TestCA

DNS_ADDRESS = "127.0.0.15"
DOMAIN = "acme.test"  # the customer's domain in the probe scenarios


class Recorder:
    """aiosmtpd handler: accepts or rejects RCPT TO, records every command, never takes DATA."""

    def __init__(self, *, accept_rcpt: bool) -> None:
        self.accept_rcpt = accept_rcpt
        self.commands: list[str] = []
        self.lock = threading.Lock()

    def _note(self, text: str) -> None:
        with self.lock:
            self.commands.append(text)

    async def handle_EHLO(
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str, responses: list
    ) -> list:
        self._note("EHLO")
        session.host_name = hostname
        return responses

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list
    ) -> str:
        self._note(f"MAIL FROM:<{address}>")
        envelope.mail_from = address
        return "250 2.1.0 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list
    ) -> str:
        self._note(f"RCPT TO:<{address}>")
        if not self.accept_rcpt:
            return f"550 5.1.1 <{address}>: Recipient address rejected: mailbox moved"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self._note("DATA")
        return "554 5.7.1 the tests never deliver"


class SilentServer:
    """Accepts TCP connections and never sends a byte: a host that hangs. Counts connections,
    open at once and in total, so a test can prove two probes were in flight together (or that
    none came at all)."""

    def __init__(self, address: str = "127.0.0.1", port: int = 0) -> None:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((address, port))
        self.sock.listen(64)
        self.sock.setblocking(False)
        self.address = address
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.open_now = 0
        self.max_open = 0
        self.both_open = threading.Event()  # set once two connections are open together
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        selector = selectors.DefaultSelector()
        selector.register(self.sock, selectors.EVENT_READ, None)
        while not self._stop.is_set():
            for key, _ in selector.select(0.05):
                if key.data is None:
                    try:
                        conn, _ = self.sock.accept()
                    except BlockingIOError:
                        continue
                    conn.setblocking(False)
                    selector.register(conn, selectors.EVENT_READ, "conn")
                    self.accepted += 1
                    self.open_now += 1
                    self.max_open = max(self.max_open, self.open_now)
                    if self.open_now >= 2:
                        self.both_open.set()
                    continue
                conn = key.fileobj
                assert isinstance(conn, socket.socket)
                try:
                    data = conn.recv(4096)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    data = b""
                if not data:  # the prober gave up and closed
                    selector.unregister(conn)
                    conn.close()
                    self.open_now -= 1
        for key in list(selector.get_map().values()):
            if key.data == "conn":
                key.fileobj.close()  # type: ignore[union-attr]
        selector.close()
        self.sock.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)


@dataclass
class SmtpServer:
    name: str  # the DNS name under probe.test
    address: str
    recorder: Recorder
    controller: Controller | None = None


@dataclass
class SmtpWorld:
    ca: TestCA
    port: int
    dns: NsdServer
    servers: dict[str, SmtpServer] = field(default_factory=dict)
    silent: SilentServer | None = None

    def resolver(self, timeout: float = 2.0) -> DnsResolver:
        return DnsResolver([self.dns.nameserver], timeout=timeout, lifetime=timeout * 2)

    def host(self, key: str) -> str:
        return f"{key}.probe.test"

    def address(self, key: str) -> str:
        return ADDRESSES[key]


# key -> loopback address. "closed" has nothing listening, "silent" never answers.
ADDRESSES = {
    "good": "127.0.2.1",
    "expired": "127.0.2.2",
    "wrongname": "127.0.2.3",
    "plain": "127.0.2.4",
    "openmx": "127.0.2.5",
    "closedmx": "127.0.2.6",
    "good2": "127.0.2.7",
    "silent": "127.0.2.8",
    "closed": "127.0.2.9",
    "untrusted": "127.0.2.10",
    "journal": "127.0.2.11",
    "badtls": "127.0.2.12",  # offers STARTTLS, but only TLS 1.0: every modern handshake fails
    "future": "127.0.2.13",  # a certificate that is not valid yet
}


def probe_zones() -> dict[str, list[str]]:
    records = [f"ns1 A {DNS_ADDRESS}"]
    records += [f"{key} A {address}" for key, address in ADDRESSES.items()]
    records += [
        "liar A 127.0.2.99",  # the name a PTR gives, pointing elsewhere (not forward-confirmed)
        f"twofaced A {ADDRESSES['good']}",
        "twofaced A 169.254.169.254",  # one good address, one metadata: refused as a whole
        "v6only AAAA ::1",
        "pop A 127.0.0.16",  # the Dovecot journal mailbox (support/dovecot.py)
        "ldap A 127.0.0.18",  # the OpenLDAP directory (support/slapd.py)
    ]
    reverse = [
        "1 PTR good.probe.test.",
        "5 PTR liar.probe.test.",
        "7 PTR good2.probe.test.",
    ]
    return {
        "probe.test": records,
        "2.0.127.in-addr.arpa": reverse,
    }


@pytest.fixture(scope="session")
def probe_ca() -> Iterator[TestCA]:
    directory = Path(tempfile.mkdtemp(prefix="probe-ca-"))
    directory.chmod(0o755)  # Dovecot's unprivileged processes read the certificate too
    try:
        yield TestCA.create(directory)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _start(
    world: SmtpWorld,
    key: str,
    *,
    cert_names: tuple[str, ...] | None,
    accept_rcpt: bool = True,
    ca: TestCA | None = None,
    expired: bool = False,
    not_yet_valid: bool = False,
    old_tls: bool = False,
) -> None:
    address = ADDRESSES[key]
    recorder = Recorder(accept_rcpt=accept_rcpt)
    tls_context = None
    if cert_names is not None:
        leaf = (ca or world.ca).issue(
            *cert_names, expired=expired, not_yet_valid=not_yet_valid, file_stem=f"smtp-{key}"
        )
        tls_context = leaf.context()
        if old_tls:
            with warnings.catch_warnings():  # deprecated, which is the point of this server
                warnings.simplefilter("ignore", DeprecationWarning)
                tls_context.minimum_version = ssl.TLSVersion.TLSv1
                tls_context.maximum_version = ssl.TLSVersion.TLSv1
    controller = Controller(
        recorder,
        hostname=address,
        server_hostname=world.host(key),  # the banner's name
        port=world.port,
        tls_context=tls_context,
        require_starttls=False,
        ready_timeout=10,
    )
    controller.start()
    world.servers[key] = SmtpServer(world.host(key), address, recorder, controller)


@pytest.fixture(scope="session")
def smtp_world(probe_ca: TestCA) -> Iterator[SmtpWorld]:
    port = free_port("127.0.0.1")
    dns = NsdServer(probe_zones(), address=DNS_ADDRESS)
    dns.start()
    world = SmtpWorld(ca=probe_ca, port=port, dns=dns)
    stranger = TestCA.create(probe_ca.directory / "stranger", "Unknown Stranger CA")
    try:
        _start(world, "good", cert_names=(world.host("good"), ADDRESSES["good"]))
        _start(world, "good2", cert_names=(world.host("good2"),))
        _start(world, "journal", cert_names=(world.host("journal"),))
        _start(world, "expired", cert_names=(world.host("expired"),), expired=True)
        _start(world, "wrongname", cert_names=("other.probe.test",))
        _start(world, "plain", cert_names=None)
        _start(world, "openmx", cert_names=(world.host("openmx"),), accept_rcpt=True)
        _start(world, "closedmx", cert_names=(world.host("closedmx"),), accept_rcpt=False)
        _start(world, "future", cert_names=(world.host("future"),), not_yet_valid=True)
        _start(world, "badtls", cert_names=(world.host("badtls"),), old_tls=True)
        _start(world, "untrusted", cert_names=(world.host("untrusted"),), ca=stranger)
        world.silent = SilentServer(ADDRESSES["silent"], port)
        yield world
    finally:
        if world.silent is not None:
            world.silent.stop()
        for server in world.servers.values():
            if server.controller is not None:
                server.controller.stop()
        dns.stop()


@pytest.fixture
def silent_server() -> Iterator[SilentServer]:
    server = SilentServer("127.0.0.1")
    try:
        yield server
    finally:
        server.stop()
