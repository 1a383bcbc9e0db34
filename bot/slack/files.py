"""Fetching a file someone uploaded into a thread, through the Files API with the bot's token.

`files.info` says where the file is; the bytes come from its private URL with the token in an
Authorization header. The token is only ever sent to Slack's file host (or to the configured
Web API host, which is a local stand-in in tests), and a redirect elsewhere is not followed.
The bytes go to a temporary file as they come, not into memory, and the whole download has a
deadline, so a server that sends slowly cannot hold the import that waits for it.
"""

from __future__ import annotations

import http.client
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

MAX_UPLOAD_BYTES = 50 * 1024 * 1024  # 100,000 recipients are about 4 MB as CSV, 3 MB as XLSX
SLACK_FILE_HOSTS = frozenset({"files.slack.com"})
READ_CHUNK = 1024 * 1024
TIMEOUT = 30.0  # for each read of the socket
DOWNLOAD_SECONDS = 120.0  # for the whole file: 50 MB at 3 Mbit/s


class UploadProblem(Exception):
    """The file cannot be fetched; the message says why, for the person who uploaded it."""


@dataclass(frozen=True)
class Upload:
    file_id: str
    name: str
    path: Path  # a temporary file holding the bytes: whoever fetched it removes it


class _SameHostRedirects(urllib.request.HTTPRedirectHandler):
    """Follow a redirect only on the same host: urllib would carry the token along."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: http.client.HTTPMessage,
        newurl: str,
    ) -> urllib.request.Request | None:
        if urlsplit(newurl).hostname != urlsplit(req.full_url).hostname:
            raise UploadProblem("Slack sent the file from an unexpected place; try again.")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_opener = urllib.request.build_opener(_SameHostRedirects)


def fetch(client: WebClient, file_id: str, *, seconds: float = DOWNLOAD_SECONDS) -> Upload:
    """Download a file shared in Slack into a temporary file, within `seconds` in all."""
    try:
        info: dict[str, Any] = client.files_info(file=file_id)["file"]
    except SlackApiError as exc:
        error = exc.response.get("error", "unknown error") if exc.response else "no answer"
        if error == "missing_scope":
            raise UploadProblem(
                "I may not read files in this workspace yet: an administrator adds the "
                "files:read scope to the app and reinstalls it."
            ) from None
        raise UploadProblem(f"Slack would not describe the file ({error}).") from None
    name = str(info.get("name") or info.get("title") or file_id)
    size = int(info.get("size") or 0)
    if size > MAX_UPLOAD_BYTES:
        raise UploadProblem(
            f"{name} is {size / 1024 / 1024:.0f} MB; I read spreadsheets of up to "
            f"{MAX_UPLOAD_BYTES // 1024 // 1024} MB. Split it, or import it from the command "
            "line with connect-bot import."
        )
    url = str(info.get("url_private_download") or info.get("url_private") or "")
    allowed = SLACK_FILE_HOSTS | {urlsplit(client.base_url).hostname}
    if urlsplit(url).scheme not in ("https", "http") or urlsplit(url).hostname not in allowed:
        raise UploadProblem(f"Slack gave no address I may fetch {name} from.")
    # The scheme and host were checked just above: only Slack's file host gets the token.
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {client.token}"})  # noqa: S310
    with tempfile.NamedTemporaryFile(prefix="connect-upload-", delete=False) as out:
        path = Path(out.name)
        try:
            _download(request, name, out, time.monotonic() + seconds)
        except BaseException:
            out.close()
            path.unlink(missing_ok=True)
            raise
    return Upload(file_id, name, path)


def _download(request: urllib.request.Request, name: str, out: IO[bytes], deadline: float) -> None:
    try:
        with _opener.open(request, timeout=TIMEOUT) as response:
            if "text/html" in (response.headers.get("Content-Type") or ""):
                # Slack answers an unauthorised file request with its sign-in page.
                raise UploadProblem(
                    f"Slack did not hand me {name} (the app may lack the files:read scope)."
                )
            size = _copy_capped(response, out, name, deadline)
            expected = response.headers.get("Content-Length")
            # http.client ends a read(n) quietly when the connection closes early, so a short
            # body is only seen by counting: half a CSV would import as a shorter list.
            if expected is not None and expected.isdigit() and size != int(expected):
                raise UploadProblem(_cut_off(name))
    except urllib.error.URLError as exc:
        # The reason is the socket's or the status line's (never the URL or the header).
        if isinstance(exc.reason, TimeoutError):
            raise UploadProblem(_too_slow(name)) from None
        raise UploadProblem(f"{name} could not be downloaded ({exc.reason}).") from None
    except TimeoutError:
        raise UploadProblem(_too_slow(name)) from None
    except (http.client.HTTPException, OSError):
        # IncompleteRead, a reset connection, a TLS error mid-way: all mean the same to the
        # person. The exception's text is not shown: it could quote the request.
        raise UploadProblem(_cut_off(name)) from None


def _cut_off(name: str) -> str:
    return f"{name} was cut off while downloading; share it again."


def _too_slow(name: str) -> str:
    return f"{name} took too long to download; try again."


def _copy_capped(
    response: http.client.HTTPResponse, out: IO[bytes], name: str, deadline: float
) -> int:
    """Copy the body to `out`, at most MAX_UPLOAD_BYTES and until `deadline`; its size."""
    total = 0
    # read1: whatever has arrived, up to a chunk, so that a slow sender meets the deadline
    # after one socket timeout at most, not after a whole chunk trickled in.
    while chunk := response.read1(READ_CHUNK):
        total += len(chunk)
        if total > MAX_UPLOAD_BYTES:
            raise UploadProblem(f"{name} is larger than {MAX_UPLOAD_BYTES // 1024 // 1024} MB.")
        out.write(chunk)
        if time.monotonic() > deadline:
            raise UploadProblem(_too_slow(name))
    return total
