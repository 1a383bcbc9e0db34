"""The one place the probes open connections, and line reading with limits.

Every connection goes through `open_stream`, to an address the guard cleared (never a name: a
second DNS lookup could answer differently). Tests wrap it to prove a refused target was never
dialled.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl

MAX_LINE = 4096  # bytes; SMTP allows 512 per reply line, POP3 512: a longer one is not a server
MAX_LINES = 200  # per multi-line reply, so a hostile server cannot feed us forever


class ProtocolError(Exception):
    """The server spoke, but not the protocol (garbage, an over-long line, a closed stream)."""


async def open_stream(
    address: str,
    port: int,
    timeout: float,
    *,
    tls: ssl.SSLContext | None = None,
    server_hostname: str | None = None,
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """TCP (or implicit TLS) to address:port within `timeout` seconds."""
    return await asyncio.wait_for(
        asyncio.open_connection(
            address,
            port,
            ssl=tls,
            server_hostname=server_hostname if tls is not None else None,
            ssl_handshake_timeout=timeout if tls is not None else None,
            limit=MAX_LINE,
        ),
        timeout,
    )


async def read_line(reader: asyncio.StreamReader, timeout: float) -> str:
    """One CRLF line without its ending; ProtocolError on EOF or an over-long line."""
    try:
        raw = await asyncio.wait_for(reader.readline(), timeout)
    except (ValueError, asyncio.LimitOverrunError) as exc:
        raise ProtocolError("the server sent an over-long line") from exc
    if not raw:
        raise ProtocolError("the server closed the connection")
    if not raw.endswith(b"\n"):
        raise ProtocolError("the server closed the connection mid-line")
    return raw.decode("utf-8", errors="replace").rstrip("\r\n")


async def close(writer: asyncio.StreamWriter) -> None:
    """Close without waiting long on a peer that does not answer the close."""
    writer.close()
    with contextlib.suppress(OSError, TimeoutError, ssl.SSLError):
        await asyncio.wait_for(writer.wait_closed(), 1.0)


def connect_error(exc: BaseException, timeout: float) -> tuple[str, str]:
    """(outcome, text) for a failed connect: refused, timeout or unreachable."""
    if isinstance(exc, ConnectionRefusedError):
        return "refused", "connection refused"
    if isinstance(exc, TimeoutError):
        return "timeout", f"did not answer within {timeout:g} s (connect)"
    if isinstance(exc, OSError):
        return "unreachable", f"could not connect ({exc.strerror or exc})"
    return "unreachable", f"could not connect ({exc or type(exc).__name__})"
