"""A local stand-in for Slack's Socket Mode WebSocket server, for end-to-end tests.

Slack's side of Socket Mode (https://docs.slack.dev/apis/events-api/using-socket-mode/): the app
calls ``apps.connections.open`` with its app-level token, gets a ``wss://`` URL, opens a WebSocket
there and receives a ``hello`` message; Slack then sends envelopes
(``{"envelope_id", "type", "accepts_response_payload", "payload"}``) and the app acknowledges each
one by sending back ``{"envelope_id": ..., "payload": {...}?}`` on the same socket.

This server speaks just enough RFC 6455 for that, from the standard library: the opening
handshake, unmasked server frames, masked client frames (text, continuation, ping, pong, close).
It listens on 127.0.0.1 without TLS (``ws://``): slack_sdk's built-in client connects with a
plain socket to any port but 443. Point a ``SlackStandIn`` at it with
``standin.socket_url = server.url``.

Usage::

    with SocketModeServer() as server:
        standin.socket_url = server.url
        ...start the app...
        server.wait_connected(timeout=30)
        envelope_id = server.send_envelope("slash_commands", slash_command_payload("help"))
        ack = server.wait_for_ack(envelope_id)
"""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import struct
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from support.signing import API_APP_ID, slash_command_fields

__all__ = ["Connection", "SocketModeServer", "slash_command_payload"]

_WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455, section 1.3

OP_CONTINUATION, OP_TEXT, OP_BINARY = 0x0, 0x1, 0x2
OP_CLOSE, OP_PING, OP_PONG = 0x8, 0x9, 0xA

CLOSE_NORMAL, CLOSE_GOING_AWAY, CLOSE_PROTOCOL_ERROR, CLOSE_TOO_BIG = 1000, 1001, 1002, 1009

_MAX_HANDSHAKE = 16 * 1024
_MAX_MESSAGE = 4 * 1024 * 1024  # far above any ack; a bigger frame means a broken client
_HANDSHAKE_TIMEOUT = 5.0


def slash_command_payload(text: str, **fields: str) -> dict[str, str]:
    """The ``payload`` of a ``slash_commands`` envelope: the HTTP form fields, as a JSON object."""
    return slash_command_fields(text, **fields)


class ProtocolError(Exception):
    """The client broke RFC 6455; the connection is closed with 1002 (or 1009)."""

    def __init__(self, message: str, code: int = CLOSE_PROTOCOL_ERROR) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Connection:
    """One accepted WebSocket connection and what happened on it."""

    number: int
    sock: socket.socket
    path: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    opened_at: float = field(default_factory=time.monotonic)
    greeted: bool = False  # the hello message went out: envelopes may follow
    closed: bool = False
    closed_at: float | None = None  # time.monotonic() when it closed, by either side
    close_code: int | None = None  # what the client sent in its close frame, if it sent one
    pings: int = 0  # pings the client sent (slack_sdk pings right after the handshake)
    pongs: list[bytes] = field(default_factory=list)  # answers to our pings
    send_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def send_frame(self, opcode: int, payload: bytes = b"") -> None:
        """One unmasked, unfragmented frame (servers never mask, RFC 6455 section 5.1)."""
        length = len(payload)
        if length < 126:
            header = struct.pack("!BB", 0x80 | opcode, length)
        elif length < 1 << 16:
            header = struct.pack("!BBH", 0x80 | opcode, 126, length)
        else:
            header = struct.pack("!BBQ", 0x80 | opcode, 127, length)
        with self.send_lock:
            # One sendall per frame: slack_sdk's reader drops a frame cut by its 3 s recv timeout.
            self.sock.sendall(header + payload)

    def send_json(self, message: dict[str, Any]) -> None:
        self.send_frame(OP_TEXT, json.dumps(message).encode("utf-8"))


class SocketModeServer:
    """Serves Socket Mode on 127.0.0.1 (ephemeral port) from daemon threads.

    Every client message is recorded (``messages``); acks are looked up by envelope id.
    Envelopes go to the newest open connection, as Slack sends each envelope to one of them.
    """

    def __init__(self, app_id: str = API_APP_ID, path: str = "/link") -> None:
        self.app_id = app_id
        self.path = path
        self._cond = threading.Condition()
        self._connections: list[Connection] = []
        self._messages: list[dict[str, Any]] = []
        self._errors: list[str] = []
        self._listener: socket.socket | None = None
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> SocketModeServer:
        if self._listener is not None:
            return self
        self._stopping.clear()
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        listener.settimeout(0.1)  # so the accept loop notices stop() quickly
        self._listener = listener
        self._spawn(self._accept_loop, f"socket-mode-accept-{self.port}")
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Close every connection with 1001 "going away", then stop listening."""
        listener = self._listener
        if listener is None:
            return
        self._stopping.set()
        for connection in self.connections():
            self._close(connection, CLOSE_GOING_AWAY, "server stopping")
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        listener.close()
        self._listener = None
        self._threads = []

    def __enter__(self) -> SocketModeServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- addresses -------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._listener is None:
            raise RuntimeError("SocketModeServer is not started")
        return int(self._listener.getsockname()[1])

    @property
    def url(self) -> str:
        """What apps.connections.open should answer (Slack's carries a one-time ticket)."""
        return (
            f"ws://127.0.0.1:{self.port}{self.path}?ticket={uuid.uuid4().hex}&app_id={self.app_id}"
        )

    # -- what happened ---------------------------------------------------------------------

    def connections(self) -> list[Connection]:
        with self._cond:
            return list(self._connections)

    def open_connections(self) -> list[Connection]:
        """Connections greeted with hello and not closed yet, oldest first."""
        with self._cond:
            return [c for c in self._connections if c.greeted and not c.closed]

    def messages(self) -> list[dict[str, Any]]:
        """Every JSON message the clients sent, in order (acks carry an ``envelope_id``)."""
        with self._cond:
            return list(self._messages)

    def errors(self) -> list[str]:
        """Protocol errors and refused handshakes, for assertion messages."""
        with self._cond:
            return list(self._errors)

    def wait_connected(self, timeout: float = 10.0, count: int = 1) -> Connection:
        """Wait until ``count`` connections have been greeted with hello; return the newest."""

        def greeted() -> list[Connection]:
            return [c for c in self._connections if c.greeted]

        self.wait_until(lambda: len(greeted()) >= count, timeout, f"{count} connection(s)")
        with self._cond:
            return greeted()[-1]

    def wait_for_ack(self, envelope_id: str, timeout: float = 5.0) -> dict[str, Any]:
        """The client's acknowledgement of ``envelope_id``: ``{"envelope_id", "payload"?}``."""

        def find() -> dict[str, Any] | None:
            return next((m for m in self._messages if m.get("envelope_id") == envelope_id), None)

        self.wait_until(lambda: find() is not None, timeout, f"the ack of envelope {envelope_id}")
        with self._cond:
            ack = find()
        assert ack is not None
        return ack

    def wait_until(self, ready: Callable[[], bool], timeout: float, what: str) -> None:
        """Wait until ``ready()`` (called with the server's lock held) is true, or fail."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not ready():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"timed out after {timeout}s waiting for {what}; "
                        f"{len(self._connections)} connection(s), "
                        f"messages: {json.dumps(self._messages)[:2000]}, errors: {self._errors}"
                    )
                self._cond.wait(remaining)

    # -- talking to the client -------------------------------------------------------------

    def send_envelope(
        self,
        type: str,
        payload: dict[str, Any],
        *,
        accepts_response_payload: bool = True,
        envelope_id: str | None = None,
        **extra: Any,
    ) -> str:
        """Send an envelope as Slack does; return its envelope_id.

        ``extra`` adds top-level fields (``retry_attempt``, ``retry_reason`` for events_api).
        """
        envelope_id = envelope_id or str(uuid.uuid4())
        envelope = {
            "envelope_id": envelope_id,
            "type": type,
            "accepts_response_payload": accepts_response_payload,
            "payload": payload,
            **extra,
        }
        self._newest().send_json(envelope)
        return envelope_id

    def send_slash_command(self, text: str, **fields: Any) -> str:
        """A ``slash_commands`` envelope for ``/connect <text>``; ``fields`` as in
        ``slash_command_payload``."""
        return self.send_envelope("slash_commands", slash_command_payload(text, **fields))

    def ping(self, payload: bytes = b"keepalive", timeout: float = 5.0) -> None:
        """Ping the newest connection and wait for its pong with the same payload."""
        connection = self._newest()
        connection.send_frame(OP_PING, payload)
        self.wait_until(lambda: payload in connection.pongs, timeout, f"a pong to {payload!r}")

    def send_disconnect(self, reason: str = "refresh_requested") -> None:
        """Slack's ``disconnect`` message: the client should open a new connection."""
        self._newest().send_json(
            {"type": "disconnect", "reason": reason, "debug_info": {"host": "standin"}}
        )

    def _newest(self) -> Connection:
        open_ones = self.open_connections()
        if not open_ones:
            raise AssertionError(f"no open Socket Mode connection (errors: {self.errors()})")
        return open_ones[-1]

    # -- server threads --------------------------------------------------------------------

    def _spawn(self, target: Callable[..., None], name: str, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        listener = self._listener
        assert listener is not None
        number = 0
        while not self._stopping.is_set():
            try:
                sock, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if self._stopping.is_set():
                sock.close()
                return
            number += 1
            self._spawn(self._serve, f"socket-mode-conn-{number}", sock, number)

    def _serve(self, sock: socket.socket, number: int) -> None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        connection = Connection(number=number, sock=sock)
        try:
            if not self._handshake(connection):
                return
            with self._cond:
                self._connections.append(connection)
            connection.send_json(self._hello(connection))
            with self._cond:
                connection.greeted = True
                self._cond.notify_all()
            self._read_messages(connection)
        except ProtocolError as exc:
            self._record_error(f"connection {number}: {exc}")
            self._close(connection, exc.code, str(exc)[:100])
        except _PeerGone:
            pass  # a client that exits (the bot stopped) just drops the TCP connection
        except OSError as exc:
            if not self._stopping.is_set() and not connection.closed:
                self._record_error(f"connection {number}: {exc!r}")
        finally:
            if connection.closed_at is None:
                connection.closed_at = time.monotonic()
            connection.closed = True
            sock.close()
            with self._cond:
                self._cond.notify_all()

    def _hello(self, connection: Connection) -> dict[str, Any]:
        with self._cond:
            open_count = sum(1 for c in self._connections if not c.closed)
        return {
            "type": "hello",
            "num_connections": open_count,
            "debug_info": {
                "host": f"applink-standin-{connection.number}",
                "build_number": 1,
                "approximate_connection_time": 18060,
            },
            "connection_info": {"app_id": self.app_id},
        }

    def _handshake(self, connection: Connection) -> bool:
        sock = connection.sock
        sock.settimeout(_HANDSHAKE_TIMEOUT)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                return False
            data += chunk
            if len(data) > _MAX_HANDSHAKE:
                return self._refuse(connection, "400 Bad Request", "handshake too long")
        head, _, rest = data.partition(b"\r\n\r\n")
        if rest:  # a client must wait for 101 before sending frames
            return self._refuse(connection, "400 Bad Request", "data before the handshake ended")
        request_line, *header_lines = head.decode("latin-1").split("\r\n")
        method, _, target = request_line.partition(" ")
        connection.path = target.rpartition(" ")[0]
        headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        connection.headers = headers
        key = headers.get("sec-websocket-key", "")
        if (
            method != "GET"
            or headers.get("upgrade", "").lower() != "websocket"
            or "upgrade" not in headers.get("connection", "").lower()
            or headers.get("sec-websocket-version") != "13"
            or not _is_websocket_key(key)
        ):
            return self._refuse(connection, "400 Bad Request", f"not a WebSocket upgrade: {head!r}")
        if connection.path.split("?")[0] != self.path:
            return self._refuse(connection, "404 Not Found", f"unknown path {connection.path}")
        accept = base64.b64encode(
            hashlib.sha1((key + _WEBSOCKET_GUID).encode(), usedforsecurity=False).digest()
        ).decode()
        sock.sendall(
            (
                "HTTP/1.1 101 Switching Protocols\r\n"
                "Upgrade: websocket\r\n"
                "Connection: Upgrade\r\n"
                f"Sec-WebSocket-Accept: {accept}\r\n"
                "\r\n"
            ).encode()
        )
        sock.settimeout(None)  # idle connections are normal; stop() shuts the socket down
        return True

    def _refuse(self, connection: Connection, status: str, why: str) -> bool:
        self._record_error(f"connection {connection.number} refused ({status}): {why}")
        body = why.encode()
        head = f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        connection.sock.sendall(head.encode() + body)
        return False

    def _read_messages(self, connection: Connection) -> None:
        fragments: list[bytes] = []
        fragmented_opcode: int | None = None
        while True:
            fin, opcode, payload = self._read_frame(connection.sock)
            if opcode >= OP_CLOSE:  # control frames: never fragmented, may come between fragments
                if not fin or len(payload) > 125:
                    raise ProtocolError("control frame fragmented or longer than 125 bytes")
                if opcode == OP_PING:
                    connection.send_frame(OP_PONG, payload)
                    with self._cond:
                        connection.pings += 1
                        self._cond.notify_all()
                elif opcode == OP_PONG:
                    with self._cond:
                        connection.pongs.append(payload)
                        self._cond.notify_all()
                elif opcode == OP_CLOSE:
                    code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                    connection.close_code = code
                    self._close(connection, code or CLOSE_NORMAL, "")
                    return
                else:
                    raise ProtocolError(f"unknown control opcode {opcode:#x}")
                continue
            if opcode == OP_CONTINUATION:
                if fragmented_opcode is None:
                    raise ProtocolError("continuation frame without a message to continue")
            elif opcode in (OP_TEXT, OP_BINARY):
                if fragmented_opcode is not None:
                    raise ProtocolError("new message before the fragmented one ended")
                fragmented_opcode = opcode
            else:
                raise ProtocolError(f"unknown data opcode {opcode:#x}")
            fragments.append(payload)
            if sum(len(f) for f in fragments) > _MAX_MESSAGE:
                raise ProtocolError("message too big", CLOSE_TOO_BIG)
            if not fin:
                continue
            data, message_opcode = b"".join(fragments), fragmented_opcode
            fragments, fragmented_opcode = [], None
            if message_opcode == OP_TEXT:
                self._record_text(connection, data)
            else:
                self._record_error(f"connection {connection.number}: binary message ignored")

    def _record_text(self, connection: Connection, data: bytes) -> None:
        try:
            message = json.loads(data.decode("utf-8"))
        except ValueError as exc:  # UnicodeDecodeError is a ValueError
            raise ProtocolError(f"text message is not UTF-8 JSON: {data[:200]!r} ({exc})") from None
        if not isinstance(message, dict):
            raise ProtocolError(f"message is not a JSON object: {data[:200]!r}")
        with self._cond:
            self._messages.append(message)
            self._cond.notify_all()

    def _read_frame(self, sock: socket.socket) -> tuple[bool, int, bytes]:
        first, second = _recv_exactly(sock, 2)
        if first & 0x70:
            raise ProtocolError("reserved bits set without a negotiated extension")
        if not second & 0x80:
            raise ProtocolError("client frame not masked")  # RFC 6455 section 5.1
        length = second & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", _recv_exactly(sock, 2))
        elif length == 127:
            (length,) = struct.unpack("!Q", _recv_exactly(sock, 8))
        if length > _MAX_MESSAGE:
            raise ProtocolError("frame too big", CLOSE_TOO_BIG)
        mask = _recv_exactly(sock, 4)
        masked = _recv_exactly(sock, length)
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(masked))
        return bool(first & 0x80), first & 0x0F, payload

    def _close(self, connection: Connection, code: int, reason: str) -> None:
        """Send a close frame (once) and shut the socket down, which ends its reader thread."""
        with self._cond:
            if connection.closed:
                return
            connection.closed = True
            connection.closed_at = time.monotonic()
            self._cond.notify_all()
        try:
            connection.send_frame(OP_CLOSE, struct.pack("!H", code) + reason.encode()[:120])
            connection.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # the peer is gone already

    def _record_error(self, error: str) -> None:
        with self._cond:
            self._errors.append(error)
            self._cond.notify_all()


class _PeerGone(ConnectionError):
    """The client closed the TCP connection (no close frame)."""


def _recv_exactly(sock: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise _PeerGone("the client closed the connection")
        data += chunk
    return data


def _is_websocket_key(key: str) -> bool:
    """Sec-WebSocket-Key is 16 random bytes in base64 (RFC 6455 section 4.1)."""
    try:
        return len(base64.b64decode(key, validate=True)) == 16
    except ValueError:  # binascii.Error
        return False
