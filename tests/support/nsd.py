"""A real authoritative DNS server for tests: Debian's NSD on a loopback address, one per scenario.

    zones = {"acme.test": ["@ 300 MX 10 mx1.gateway.test.", '@ 300 TXT "v=spf1 -all"']}
    with NsdServer(zones, address="127.0.0.5") as nsd:
        resolver = DnsResolver([nsd.nameserver])

Each zone gets an SOA (serial settable) and NS records naming `ns_names` (default
ns1.<zone>, with no address unless the caller gives one). NSD runs in the foreground (-d) as
root with an empty username and chroot, its own pid/log/zonelist files in a temp folder, and is
stopped afterwards. A server that cannot be started raises: tests using it fail, never skip.

Also here: `SilentServer` (a UDP socket that never answers: a name server that is down) and
`DnsProxy` (a UDP/TCP relay in front of NSD that can delay every answer or drop questions for
chosen names: added latency for the benchmark, timeouts for the RFC 7208 suite).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType

import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype

NSD = shutil.which("nsd") or "/usr/sbin/nsd"
START_TIMEOUT = 15.0


class NsdError(RuntimeError):
    """NSD could not be started or did not answer."""


def free_port(address: str = "127.0.0.1") -> int:
    """A port free for both UDP and TCP on `address` (NSD listens on both)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind((address, 0))
            port = udp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind((address, port))
                except OSError:
                    continue
                return port
    raise NsdError(f"no free port on {address}")


def zone_text(
    origin: str,
    records: Iterable[str],
    *,
    serial: int = 1,
    ns_names: Sequence[str] | None = None,
    default_ttl: int = 300,
) -> str:
    """A zone file: $ORIGIN, SOA, NS, then `records` as given (relative names allowed)."""
    origin = origin.rstrip(".") + "."
    ns_names = ns_names or (f"ns1.{origin}",)
    lines = [
        f"$ORIGIN {origin}",
        f"$TTL {default_ttl}",
        f"@ 3600 IN SOA {ns_names[0]} hostmaster.{origin} {serial} 3600 600 86400 60",
    ]
    lines += [f"@ 3600 IN NS {_absolute(ns)}" for ns in ns_names]
    lines += list(records)
    return "\n".join(lines) + "\n"


def _absolute(name: str) -> str:
    return name if name.endswith(".") else name + "."


class NsdServer:
    """NSD serving `zones` on address:port (port picked free when not given).

    zones: zone name -> record lines, or zone name -> full zone text (a str starting with
    "$ORIGIN"), for scenarios that need exact control. serials/ns_names apply per zone name.
    """

    def __init__(
        self,
        zones: Mapping[str, Iterable[str] | str],
        *,
        address: str = "127.0.0.5",
        port: int | None = None,
        serials: Mapping[str, int] | None = None,
        ns_names: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        if not address.startswith("127."):
            raise ValueError("tests serve DNS on the loopback range only")
        self.address = address
        self.port = port or free_port(address)
        self._zones = dict(zones)
        self._serials = dict(serials or {})
        self._ns_names = dict(ns_names or {})
        self._dir: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def nameserver(self) -> str:
        """The CONNECT_DNS_NAMESERVERS value that points at this server."""
        return f"{self.address}:{self.port}"

    def __enter__(self) -> NsdServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _write(self, directory: Path) -> Path:
        zone_stanzas = []
        for index, (name, content) in enumerate(self._zones.items()):
            origin = name.rstrip(".")
            if isinstance(content, str):
                text = content
            else:
                text = zone_text(
                    origin,
                    content,
                    serial=self._serials.get(origin, 1),
                    ns_names=self._ns_names.get(origin),
                )
            filename = f"zone{index}.zone"
            (directory / filename).write_text(text, encoding="utf-8")
            zone_stanzas.append(f'zone:\n    name: "{origin}."\n    zonefile: "{filename}"\n')
        config = directory / "nsd.conf"
        config.write_text(
            "server:\n"
            f"    ip-address: {self.address}@{self.port}\n"
            f"    port: {self.port}\n"
            '    username: ""\n'
            '    chroot: ""\n'
            f'    zonesdir: "{directory}"\n'
            f'    zonelistfile: "{directory}/zone.list"\n'
            '    database: ""\n'
            f'    pidfile: "{directory}/nsd.pid"\n'
            f'    logfile: "{directory}/nsd.log"\n'
            f'    xfrdfile: "{directory}/xfrd.state"\n'
            f'    xfrdir: "{directory}/xfr"\n'
            "    server-count: 1\n"
            "    verbosity: 1\n"
            "    do-ip6: no\n"
            "    hide-version: yes\n"
            "    refuse-any: yes\n"
            "remote-control:\n"
            "    control-enable: no\n" + "".join(zone_stanzas),
            encoding="utf-8",
        )
        return config

    def start(self) -> None:
        if not os.path.exists(NSD):
            raise NsdError(f"nsd is not installed ({NSD}); run scripts/system-packages")
        self._dir = Path(tempfile.mkdtemp(prefix="nsd-"))
        config = self._write(self._dir)
        check = subprocess.run(
            ["nsd-checkconf", str(config)], capture_output=True, text=True, check=False
        )
        if check.returncode != 0:
            raise NsdError(f"nsd.conf rejected: {check.stderr or check.stdout}")
        log = (self._dir / "stdout.log").open("wb")
        # -d: stay in the foreground, so that the process we hold is the server we stop.
        self._process = subprocess.Popen(
            [NSD, "-d", "-c", str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        log.close()
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self) -> None:
        assert self._process is not None
        probe_zone = next(iter(self._zones)).rstrip(".") + "."
        deadline = time.monotonic() + START_TIMEOUT
        last: object = None
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise NsdError(f"nsd exited with {self._process.returncode}: {self.log_text()}")
            try:
                query = dns.message.make_query(probe_zone, "SOA")
                response = dns.query.udp(query, self.address, port=self.port, timeout=0.5)
                if response.rcode() == dns.rcode.NOERROR and response.answer:
                    return
                last = dns.rcode.to_text(response.rcode())
            except Exception as exc:  # not up yet
                last = exc
            time.sleep(0.05)
        raise NsdError(f"nsd did not answer within {START_TIMEOUT}s ({last}): {self.log_text()}")

    def log_text(self) -> str:
        if self._dir is None:
            return ""
        parts = []
        for name in ("nsd.log", "stdout.log"):
            path = self._dir / name
            if path.exists():
                parts.append(path.read_text(errors="replace")[-4000:])
        return "\n".join(parts)

    def stop(self) -> None:
        if self._process is not None:
            if self._process.poll() is None:
                self._process.terminate()
                try:
                    self._process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self._process.kill()
                    self._process.wait(timeout=10)
            self._process = None
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None


class SilentServer:
    """A UDP (and TCP) socket on loopback that never answers: a name server that is down."""

    def __init__(self, address: str = "127.0.0.9", port: int | None = None) -> None:
        self.address = address
        self.port = port or free_port(address)
        self._udp: socket.socket | None = None
        self._tcp: socket.socket | None = None

    @property
    def nameserver(self) -> str:
        return f"{self.address}:{self.port}"

    def __enter__(self) -> SilentServer:
        self._udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._udp.bind((self.address, self.port))
        self._tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._tcp.bind((self.address, self.port))
        self._tcp.listen(16)  # connections are queued, never served
        return self

    def __exit__(self, *exc: object) -> None:
        for sock in (self._udp, self._tcp):
            if sock is not None:
                sock.close()


class DnsProxy:
    """Relays DNS between clients and one upstream server, in its own thread and event loop.

    delay: seconds added before each answer is returned (the benchmark's 100 ms).
    drop: names (lower-case, no trailing dot) whose questions are never answered (timeouts).
    drop_unless: name -> record types still answered for it (the others time out).
    """

    def __init__(
        self,
        upstream: tuple[str, int],
        *,
        address: str = "127.0.0.7",
        port: int | None = None,
        delay: float = 0.0,
        drop: Iterable[str] = (),
        drop_unless: Mapping[str, Iterable[str]] | None = None,
    ) -> None:
        self.upstream = upstream
        self.address = address
        self.port = port or free_port(address)
        self.delay = delay
        self.drop = {name.rstrip(".").lower() for name in drop}
        self.drop_unless = {
            name.rstrip(".").lower(): {t.upper() for t in types}
            for name, types in (drop_unless or {}).items()
        }
        self.answered = 0
        self.dropped = 0
        self.in_flight = 0
        self.most_in_flight = 0  # the most UDP questions ever waiting at once
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._tasks: set[asyncio.Future[None]] = set()

    @property
    def nameserver(self) -> str:
        return f"{self.address}:{self.port}"

    def __enter__(self) -> DnsProxy:
        self._thread = threading.Thread(target=self._run, name="dns-proxy", daemon=True)
        self._thread.start()
        if not self._ready.wait(10) or self._error:
            raise NsdError(f"DNS proxy did not start: {self._error}")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(10)

    def _dropped(self, wire: bytes) -> bool:
        with contextlib.suppress(Exception):
            message = dns.message.from_wire(wire)
            if message.question:
                question = message.question[0]
                name = question.name.to_text(omit_final_dot=True).lower()
                if name in self.drop:
                    return True
                if name in self.drop_unless:
                    kind = dns.rdatatype.to_text(question.rdtype)
                    return kind not in self.drop_unless[name]
        return False

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:
            self._error = exc
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        proxy = self

        class Udp(asyncio.DatagramProtocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                self.transport = transport  # type: ignore[assignment]

            def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
                task = asyncio.ensure_future(proxy._relay_udp(self.transport, data, addr))  # type: ignore[arg-type]
                proxy._tasks.add(task)  # keep a reference until it is done
                task.add_done_callback(proxy._tasks.discard)

        transport, _ = await self._loop.create_datagram_endpoint(
            Udp, local_addr=(self.address, self.port)
        )
        server = await asyncio.start_server(self._relay_tcp, self.address, self.port)
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            transport.close()
            server.close()

    async def _relay_udp(
        self, transport: asyncio.DatagramTransport, data: bytes, addr: tuple[str, int]
    ) -> None:
        if self._dropped(data):
            self.dropped += 1
            return
        # Questions waiting for their answer at once (one event loop: no lock needed).
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await self._relay_one(transport, data, addr)
        finally:
            self.in_flight -= 1

    async def _relay_one(
        self, transport: asyncio.DatagramTransport, data: bytes, addr: tuple[str, int]
    ) -> None:
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[bytes] = loop.create_future()

        class Upstream(asyncio.DatagramProtocol):
            def datagram_received(self, reply: bytes, _addr: tuple[str, int]) -> None:
                if not answer.done():
                    answer.set_result(reply)

        up, _ = await loop.create_datagram_endpoint(Upstream, remote_addr=self.upstream)
        try:
            up.sendto(data)
            reply = await asyncio.wait_for(answer, 5)
        except TimeoutError:
            return
        finally:
            up.close()
        if self.delay:
            await asyncio.sleep(self.delay)
        self.answered += 1
        transport.sendto(reply, addr)

    async def _relay_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                size = int.from_bytes(await reader.readexactly(2), "big")
                data = await reader.readexactly(size)
                if self._dropped(data):
                    self.dropped += 1
                    continue
                up_reader, up_writer = await asyncio.open_connection(*self.upstream)
                up_writer.write(len(data).to_bytes(2, "big") + data)
                await up_writer.drain()
                reply_size = int.from_bytes(await up_reader.readexactly(2), "big")
                reply = await up_reader.readexactly(reply_size)
                up_writer.close()
                if self.delay:
                    await asyncio.sleep(self.delay)
                self.answered += 1
                writer.write(reply_size.to_bytes(2, "big") + reply)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
