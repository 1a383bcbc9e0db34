"""bot/files.py against downloads that break half-way or crawl: a real HTTP exchange on the
loopback (the Slack stand-in describes the file, a raw socket server misbehaves while sending
it), every failure comes back as an UploadProblem that names the file and not the token or URL,
and no temporary file is left behind."""

from __future__ import annotations

import socket
import struct
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from slack_sdk import WebClient
from support.slack_standin import SlackStandIn

from bot.slack.files import UploadProblem, fetch

TOKEN = "xoxb-test-secret-token"
HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"


def _chunked_then_close(conn: socket.socket) -> None:
    # http.client raises IncompleteRead when a chunked body stops before its last chunk.
    conn.sendall(HEAD + b"Transfer-Encoding: chunked\r\n\r\n" + b"10\r\nemail,name\na@b.c\r\n")


def _reset(conn: socket.socket) -> None:
    conn.sendall(HEAD + b"Content-Length: 100000\r\n\r\n" + b"email,name\n" * 100)
    # SO_LINGER 0: close with a RST, which the reader sees as ConnectionResetError.
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def _short(conn: socket.socket) -> None:
    conn.sendall(HEAD + b"Content-Length: 100000\r\n\r\n" + b"email,name\n")


def _crawl(conn: socket.socket) -> None:
    # A line every 0.2 s: each read gets something well inside the socket timeout, so only a
    # deadline on the whole download stops it.
    conn.sendall(HEAD + b"Content-Length: 100000\r\n\r\n")
    try:
        for _ in range(100):
            conn.sendall(b"a@acme.example,A\n")
            time.sleep(0.2)
    except OSError:
        pass  # the reader hung up, as it should


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The temporary folder the downloads go to, this test's own (others may download too)."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


@pytest.fixture
def serve_once() -> Iterator[Callable[[Callable[[socket.socket], None]], str]]:
    """A one-shot HTTP server on the loopback that answers with `behaviour`; returns its URL."""
    listeners: list[socket.socket] = []

    def start(behaviour: Callable[[socket.socket], None]) -> str:
        listener = socket.create_server(("127.0.0.1", 0))
        listeners.append(listener)

        def run() -> None:
            conn, _ = listener.accept()
            with conn:
                conn.recv(65536)
                behaviour(conn)

        threading.Thread(target=run, daemon=True).start()
        return f"http://127.0.0.1:{listener.getsockname()[1]}/files-pri/F1/team.csv"

    yield start
    for listener in listeners:
        listener.close()


@pytest.mark.parametrize("behaviour", [_chunked_then_close, _reset, _short])
def test_a_download_that_breaks_is_an_upload_problem(
    standin: SlackStandIn,
    serve_once: Callable[[Callable[[socket.socket], None]], str],
    behaviour: Callable[[socket.socket], None],
    scratch: Path,
) -> None:
    url = serve_once(behaviour)
    standin.add_file("F1", "team.csv", b"x" * 100000, url_private_download=url)
    client = WebClient(token=TOKEN, base_url=standin.api_url)
    with pytest.raises(UploadProblem) as caught:
        fetch(client, "F1")
    said = str(caught.value)
    assert said == "team.csv was cut off while downloading; share it again."
    assert TOKEN not in said
    assert "127.0.0.1" not in said
    assert list(scratch.iterdir()) == []  # the part already written is gone


def test_a_download_that_crawls_is_stopped_at_its_deadline(
    standin: SlackStandIn,
    serve_once: Callable[[Callable[[socket.socket], None]], str],
    scratch: Path,
) -> None:
    url = serve_once(_crawl)
    standin.add_file("F3", "slow.csv", b"x" * 100000, url_private_download=url)
    client = WebClient(token=TOKEN, base_url=standin.api_url)
    with pytest.raises(UploadProblem, match=r"^slow.csv took too long to download; try again.$"):
        fetch(client, "F3", seconds=1.0)
    assert list(scratch.iterdir()) == []


def test_a_whole_download_is_written_to_a_temporary_file(
    standin: SlackStandIn, scratch: Path
) -> None:
    standin.add_file("F2", "ok.csv", b"email,name\na@acme.example,A\n")
    got = fetch(WebClient(token=TOKEN, base_url=standin.api_url), "F2")
    assert got.name == "ok.csv"
    assert got.path.parent == scratch
    assert got.path.name.startswith("connect-upload-")  # not the name Slack gave
    assert got.path.read_bytes() == b"email,name\na@acme.example,A\n"
