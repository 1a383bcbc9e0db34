"""A POP3 probe of the journal mailbox: POP3S (implicit TLS) or POP3 with STLS, TLS verified,
USER/PASS, STAT (message count and size), QUIT.

The password is sent once, inside TLS, and appears nowhere else: not in the result, not in an
exception, not in a log line. Server text is scrubbed of it before it is kept (a broken server
could echo it). Without TLS the password is never sent: a mailbox that offers no STLS gets a
verdict without a login.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from dataclasses import dataclass, field
from typing import Literal

from commands.checks.probes import net
from commands.checks.probes.tls import TlsOutcome, cert_info, client_context, failure_from

PopSecurity = Literal["pop3s", "stls"]
STEPS_CAP = 4


@dataclass(frozen=True)
class PopCredentials:
    """The journal mailbox, as the credentials modal stores it. The password never shows in
    repr() (so not in a traceback's locals, a log line or a test failure either)."""

    host: str
    port: int
    security: PopSecurity
    user: str
    password: str = field(repr=False)

    def __post_init__(self) -> None:
        if self.security not in ("pop3s", "stls"):
            raise ValueError("security must be 'pop3s' (port 995) or 'stls' (port 110)")
        if not 0 < self.port < 65536:
            raise ValueError("port must be 1-65535")


@dataclass
class PopProbe:
    host: str
    address: str
    port: int
    security: PopSecurity
    outcome: str = "error"  # answered | refused | timeout | unreachable | error
    error: str | None = None
    greeting: str | None = None
    stls_offered: bool | None = None
    tls: TlsOutcome | None = None
    login: Literal["ok", "refused"] | None = None
    login_reply: str | None = None
    messages: int | None = None
    size: int | None = None  # octets
    steps: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        address = f"[{self.address}]" if ":" in self.address else self.address
        endpoint = f"{address}:{self.port}"
        return endpoint if self.host == self.address else f"{self.host} ({endpoint})"

    def evidence(self) -> str:
        parts = list(self.steps)
        if self.error:
            parts.append(self.error)
        return f"{self.label}: " + "; ".join(parts)


class _Stop(Exception):
    pass


class _Session:
    def __init__(self, probe: PopProbe, timeout: float, secret: str) -> None:
        self.probe = probe
        self.timeout = timeout
        self.secret = secret
        self.stage = "connect"
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    def clean(self, text: str) -> str:
        """Server text with the password blotted out, whatever the server did with it."""
        return text.replace(self.secret, "[password]") if self.secret else text

    async def command(self, line: str, shown: str) -> tuple[bool, str]:
        """(+OK?, rest of the status line) for one command; `shown` is what the evidence says
        was sent (for PASS: never the password)."""
        assert self.reader is not None
        assert self.writer is not None
        self.stage = shown
        self.writer.write(line.encode("utf-8") + b"\r\n")
        await asyncio.wait_for(self.writer.drain(), self.timeout)
        return await self.status()

    async def status(self) -> tuple[bool, str]:
        assert self.reader is not None
        reply = self.clean(await net.read_line(self.reader, self.timeout))
        if reply.startswith("+OK"):
            return True, reply[3:].strip()
        if reply.startswith("-ERR"):
            return False, reply[4:].strip()
        raise net.ProtocolError(f"not a POP3 reply: {reply[:80]!r}")

    async def multiline(self) -> list[str]:
        assert self.reader is not None
        lines: list[str] = []
        for _ in range(net.MAX_LINES):
            line = self.clean(await net.read_line(self.reader, self.timeout))
            if line == ".":
                return lines
            lines.append(line)
        raise net.ProtocolError("the list did not end")


async def probe_pop(
    credentials: PopCredentials,
    address: str,
    *,
    timeout: float = 10.0,
    ca_file: str | None = None,
) -> PopProbe:
    """Log in to the mailbox at `address` (cleared by the guard) and read STAT.

    Never raises for network outcomes; never puts the password in anything it returns.
    """
    probe = PopProbe(credentials.host, address, credentials.port, credentials.security)
    session = _Session(probe, timeout, credentials.password)
    try:
        async with asyncio.timeout(timeout * STEPS_CAP):
            await _run(session, credentials, ca_file)
    except _Stop:
        pass
    except TimeoutError:
        probe.outcome = "timeout"
        where = "connect" if session.stage == "connect" else f"waiting after {session.stage}"
        probe.error = f"did not answer within {timeout:g} s ({where})"
    except net.ProtocolError as exc:
        probe.outcome = "answered" if probe.greeting is not None else "error"
        probe.error = f"{session.clean(str(exc))} (after {session.stage})"
    except (OSError, ssl.SSLError) as exc:
        probe.outcome = "answered" if probe.greeting is not None else "unreachable"
        probe.error = f"connection lost after {session.stage} ({session.clean(str(exc))})"
    finally:
        if session.writer is not None:
            await net.close(session.writer)
    return probe


async def _run(session: _Session, credentials: PopCredentials, ca_file: str | None) -> None:
    probe, timeout = session.probe, session.timeout
    context = client_context(ca_file)
    implicit = credentials.security == "pop3s"
    try:
        session.reader, session.writer = await net.open_stream(
            probe.address,
            probe.port,
            timeout,
            tls=context if implicit else None,
            server_hostname=credentials.host,
        )
    except (ssl.SSLError, ssl.CertificateError) as exc:
        # With POP3S the handshake is part of connecting: this is a TLS verdict.
        probe.outcome = "answered"
        failure = failure_from(exc)
        probe.tls = TlsOutcome(failure=failure)
        probe.steps.append(f"TLS failed: {failure.describe()}")
        raise _Stop from None
    except (OSError, TimeoutError) as exc:
        probe.outcome, probe.error = net.connect_error(exc, timeout)
        raise _Stop from None
    if implicit:
        _record_tls(session)
    session.stage = "the greeting"
    ok, text = await session.status()
    probe.outcome = "answered"
    probe.greeting = text
    probe.steps.append(f"greeting {'+OK' if ok else '-ERR'} {text}".rstrip())
    if not ok:
        raise _Stop
    if not implicit:
        await _stls(session, context, credentials.host)
    await _login(session, credentials)
    if probe.login == "ok":
        ok, text = await session.command("STAT", "STAT")
        probe.steps.append(f"STAT -> {'+OK' if ok else '-ERR'} {text}")
        fields = text.split()
        if ok and len(fields) >= 2 and fields[0].isdigit() and fields[1].isdigit():
            probe.messages, probe.size = int(fields[0]), int(fields[1])
    # A server that hangs up before answering QUIT is fine.
    with contextlib.suppress(OSError, TimeoutError, net.ProtocolError, ssl.SSLError):
        await session.command("QUIT", "QUIT")


async def _stls(session: _Session, context: ssl.SSLContext, server_name: str) -> None:
    probe = session.probe
    assert session.writer is not None
    ok, _ = await session.command("CAPA", "CAPA")
    capabilities = (
        [line.split()[0].upper() for line in await session.multiline() if line] if (ok) else []
    )
    probe.stls_offered = "STLS" in capabilities
    if not probe.stls_offered:
        probe.steps.append("STLS not offered (the password was not sent)")
        raise _Stop
    ok, text = await session.command("STLS", "STLS")
    if not ok:
        probe.stls_offered = False
        probe.steps.append(f"STLS -> -ERR {text} (the password was not sent)")
        raise _Stop
    session.stage = "the TLS handshake"
    try:
        await asyncio.wait_for(
            session.writer.start_tls(context, server_hostname=server_name), session.timeout
        )
    except (ssl.SSLError, OSError, TimeoutError) as exc:
        failure = failure_from(exc)
        probe.tls = TlsOutcome(failure=failure)
        probe.steps.append(f"TLS failed: {failure.describe()}")
        raise _Stop from None
    _record_tls(session)


def _record_tls(session: _Session) -> None:
    assert session.writer is not None
    ssl_object = session.writer.get_extra_info("ssl_object")
    info = cert_info(ssl_object.getpeercert() if ssl_object else None)
    version = ssl_object.version() if ssl_object else None
    session.probe.tls = TlsOutcome(version=version, cert=info)
    session.probe.steps.append(f"{version}, {info.describe() if info else 'no certificate'}")


async def _login(session: _Session, credentials: PopCredentials) -> None:
    probe = session.probe
    # The user name is the customer's own data and helps them see which account was tried.
    ok, text = await session.command(f"USER {credentials.user}", f"USER {credentials.user}")
    if ok:
        ok, text = await session.command(f"PASS {credentials.password}", "PASS")
    probe.login = "ok" if ok else "refused"
    probe.login_reply = text
    probe.steps.append(f"login {'accepted' if ok else 'refused'}: {text}".rstrip(": "))
