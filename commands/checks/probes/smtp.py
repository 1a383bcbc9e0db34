"""An SMTP probe: connect, banner, EHLO, STARTTLS (verified), optionally MAIL FROM:<> and
RCPT TO:<postmaster@domain>, then QUIT. It never sends DATA, so no message is ever delivered.

Every network step has its own timeout and the whole dialogue a cap of a few of them, so a server
that drips one byte at a time cannot hold a check. The result records what happened at each step
(the evidence people see) and the outcome of the connection as a word the checks turn into
verdicts: "answered", "refused", "timeout", "unreachable", "error".
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from dataclasses import dataclass, field
from typing import Literal

from commands.checks.probes import net
from commands.checks.probes.tls import (
    TlsFailure,
    TlsOutcome,
    TlsProblem,
    cert_info,
    client_context,
    failure_from,
)

TlsMode = Literal["verify", "opportunistic", "off"]
DEFAULT_TIMEOUT = 10.0
STEPS_CAP = 4  # the whole dialogue may take this many step timeouts at most


@dataclass(frozen=True)
class Reply:
    code: int
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        return " / ".join(self.lines)

    def describe(self) -> str:
        return f"{self.code} {self.text}".strip()

    @property
    def positive(self) -> bool:
        return 200 <= self.code < 400


@dataclass
class SmtpProbe:
    """What one probe of one address saw."""

    host: str  # the name (or literal) the probe is about
    address: str
    port: int
    outcome: str = "error"  # answered | refused | timeout | unreachable | error
    error: str | None = None  # why the dialogue stopped early, in plain words
    banner: Reply | None = None
    ehlo: Reply | None = None
    starttls_offered: bool | None = None  # None: never got that far
    tls: TlsOutcome | None = None
    mail: Reply | None = None
    rcpt: Reply | None = None
    steps: list[str] = field(default_factory=list)  # the dialogue, one line per exchange

    @property
    def endpoint(self) -> str:
        address = f"[{self.address}]" if ":" in self.address else self.address
        return f"{address}:{self.port}"

    @property
    def label(self) -> str:
        if self.host == self.address:
            return self.endpoint
        return f"{self.host} ({self.endpoint})"

    @property
    def answered(self) -> bool:
        return self.banner is not None

    @property
    def accepts_smtp(self) -> bool:
        return self.banner is not None and self.banner.code == 220

    @property
    def rcpt_accepted(self) -> bool:
        return self.rcpt is not None and self.rcpt.positive

    def evidence(self) -> str:
        """One line: the endpoint and the dialogue."""
        parts = list(self.steps)
        if self.error:
            parts.append(self.error)
        return f"{self.label}: " + "; ".join(parts)


class _Stop(Exception):
    """End the dialogue early; the reason is already recorded on the probe."""


def ehlo_keywords(reply: Reply) -> set[str]:
    """The extension keywords of an EHLO reply (the first line is the greeting)."""
    return {line.split()[0].upper() for line in reply.lines[1:] if line.split()}


async def _reply(reader: asyncio.StreamReader, timeout: float) -> Reply:
    """A multi-line reply: "250-..." lines until "250 ..."."""
    lines: list[str] = []
    code: int | None = None
    for _ in range(net.MAX_LINES):
        line = await net.read_line(reader, timeout)
        head, sep, rest = line[:3], line[3:4], line[4:]
        if not head.isdigit() or sep not in ("-", " ", ""):
            raise net.ProtocolError(f"not an SMTP reply: {line[:80]!r}")
        if code is not None and int(head) != code:
            raise net.ProtocolError("reply codes changed within one reply")
        code = int(head)
        lines.append(rest.strip())
        if sep != "-":
            return Reply(code, tuple(lines))
    raise net.ProtocolError("the reply did not end")


class _Dialogue:
    def __init__(self, probe: SmtpProbe, timeout: float) -> None:
        self.probe = probe
        self.timeout = timeout
        self.stage = "connect"
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def command(self, line: str, shown: str | None = None, *, record: bool = True) -> Reply:
        assert self.reader is not None
        assert self.writer is not None
        self.stage = shown or line
        self.writer.write(line.encode("ascii") + b"\r\n")
        await asyncio.wait_for(self.writer.drain(), self.timeout)
        reply = await _reply(self.reader, self.timeout)
        if record:
            said = reply.describe()
            if line.startswith("EHLO") and reply.code == 250:
                # The greeting line is noise; the extensions are the evidence.
                said = f"250 ({', '.join(sorted(ehlo_keywords(reply))) or 'no extensions'})"
            self.probe.steps.append(f"{shown or line} -> {said}")
        return reply


async def probe_smtp(
    host: str,
    address: str,
    port: int,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    tls_mode: TlsMode = "verify",
    ca_file: str | None = None,
    server_name: str | None = None,
    rcpt: str | None = None,
    helo_name: str | None = None,
    banner_only: bool = False,
) -> SmtpProbe:
    """Probe address:port as `host`. TLS is verified against `server_name` (default `host`).

    tls_mode: "verify" checks the certificate (its verdict is on the probe); "opportunistic"
    encrypts without checking, as a sending MTA does (for probes about acceptance, not TLS);
    "off" stays in plain text. rcpt: send MAIL FROM:<> and RCPT TO:<rcpt> after EHLO.
    banner_only: read the banner and QUIT (does anything answer SMTP at all?).
    Never raises for network outcomes.
    """
    probe = SmtpProbe(host=host, address=address, port=port)
    dialogue = _Dialogue(probe, timeout)
    try:
        async with asyncio.timeout(timeout * STEPS_CAP):
            await _run(
                dialogue, tls_mode, ca_file, server_name or host, rcpt, helo_name, banner_only
            )
    except _Stop:
        pass
    except TimeoutError:
        if dialogue.stage == "connect":
            probe.outcome, probe.error = "timeout", f"did not answer within {timeout:g} s (connect)"
        else:
            stage = dialogue.stage
            waiting = stage if stage.startswith("the ") else f"the reply to {stage}"
            probe.outcome = "timeout"
            probe.error = f"did not answer within {timeout:g} s (waiting for {waiting})"
    except net.ProtocolError as exc:
        probe.outcome = "answered" if probe.answered else "error"
        probe.error = f"{exc} (after {dialogue.stage})"
    except (OSError, ssl.SSLError) as exc:
        probe.outcome = "answered" if probe.answered else "unreachable"
        probe.error = f"connection lost after {dialogue.stage} ({exc})"
    finally:
        if dialogue.writer is not None:
            await net.close(dialogue.writer)
    return probe


async def _run(
    dialogue: _Dialogue,
    tls_mode: TlsMode,
    ca_file: str | None,
    server_name: str,
    rcpt: str | None,
    helo_name: str | None,
    banner_only: bool,
) -> None:
    probe, timeout = dialogue.probe, dialogue.timeout
    try:
        dialogue.reader, dialogue.writer = await net.open_stream(probe.address, probe.port, timeout)
    except (OSError, TimeoutError) as exc:
        probe.outcome, probe.error = net.connect_error(exc, timeout)
        raise _Stop from None
    dialogue.stage = "the banner"
    probe.banner = await _reply(dialogue.reader, timeout)
    probe.outcome = "answered"
    probe.steps.append(f"banner {probe.banner.describe()}")
    if probe.banner.code != 220 or banner_only:
        await _quit(dialogue)
        raise _Stop
    name = helo_name or socket.gethostname() or "localhost"
    probe.ehlo = await dialogue.command(f"EHLO {name}", "EHLO")
    if probe.ehlo.code != 250:
        await _quit(dialogue)
        raise _Stop
    if tls_mode != "off":
        probe.starttls_offered = "STARTTLS" in ehlo_keywords(probe.ehlo)
        if not probe.starttls_offered:
            probe.steps.append("STARTTLS not offered")
        else:
            await _starttls(dialogue, tls_mode, ca_file, server_name, name)
    if rcpt is not None:
        probe.mail = await dialogue.command("MAIL FROM:<>")
        if probe.mail.positive:
            probe.rcpt = await dialogue.command(f"RCPT TO:<{rcpt}>")
    await _quit(dialogue)


async def _starttls(
    dialogue: _Dialogue, tls_mode: TlsMode, ca_file: str | None, server_name: str, name: str
) -> None:
    probe, timeout = dialogue.probe, dialogue.timeout
    assert dialogue.writer is not None
    reply = await dialogue.command("STARTTLS")
    if reply.code != 220:
        failure = TlsFailure(TlsProblem.HANDSHAKE, f"STARTTLS refused: {reply.describe()}")
        probe.tls = TlsOutcome(failure=failure)
        return
    context = client_context(ca_file, verify=tls_mode == "verify")
    dialogue.stage = "the TLS handshake"
    try:
        await asyncio.wait_for(
            dialogue.writer.start_tls(
                context, server_hostname=server_name if tls_mode == "verify" else None
            ),
            timeout,
        )
    except (ssl.SSLError, OSError, TimeoutError) as exc:
        failure = failure_from(exc)
        probe.tls = TlsOutcome(failure=failure)
        probe.steps.append(f"TLS failed: {failure.describe()}")
        # After a failed handshake the connection is unusable: the dialogue ends here.
        raise _Stop from None
    ssl_object = dialogue.writer.get_extra_info("ssl_object")
    version = ssl_object.version() if ssl_object else None
    if tls_mode == "verify":
        info = cert_info(ssl_object.getpeercert() if ssl_object else None)
        probe.tls = TlsOutcome(version=version, cert=info)
        probe.steps.append(f"{version}, {info.describe() if info else 'no certificate details'}")
    else:
        probe.tls = TlsOutcome(version=version)
        probe.steps.append(f"{version} (certificate not checked)")
    probe.ehlo = await dialogue.command(f"EHLO {name}", "EHLO after STARTTLS")


async def _quit(dialogue: _Dialogue) -> None:
    """QUIT politely; a server that hangs up first is fine."""
    with contextlib.suppress(OSError, TimeoutError, net.ProtocolError, ssl.SSLError):
        await dialogue.command("QUIT", record=False)
