"""The stand-in holds files.uploadV2 to Slack's rules, so the report's upload is tested against
something that can say no: a file name and a length up front, exactly that many bytes to the URL
it gave, and completion only of files it announced and received, in a channel."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from support.slack_standin import SlackStandIn, uploaded


def client(slack: SlackStandIn) -> WebClient:
    return WebClient(token="xoxb-test", base_url=slack.api_url)


def test_files_upload_v2_is_recorded_in_its_three_steps(standin: SlackStandIn) -> None:
    shared = client(standin).files_upload_v2(
        channel="C0ACME", content=b"<p>report</p>", filename="r.html", title="Report"
    )

    file_id = shared["file"]["id"]
    methods = [c.method for c in standin.calls() if c.method.startswith("files.")]
    assert methods == ["files.getUploadURLExternal", "files.upload", "files.completeUploadExternal"]
    got = uploaded(standin, file_id)
    assert (got.filename, got.length, got.content) == ("r.html", 13, b"<p>report</p>")
    assert got.shared is not None
    assert got.shared["channel_id"] == "C0ACME"


@pytest.mark.parametrize(
    "params",
    [
        pytest.param({"length": "5"}, id="no-filename"),
        pytest.param({"filename": "r.html"}, id="no-length"),
        pytest.param({"filename": "r.html", "length": "0"}, id="empty"),
        pytest.param({"filename": "r.html", "length": "-3"}, id="negative"),
    ],
)
def test_an_upload_url_needs_a_name_and_a_length(
    standin: SlackStandIn, params: dict[str, str]
) -> None:
    with pytest.raises(SlackApiError) as refused:
        client(standin).api_call("files.getUploadURLExternal", params=params)
    assert refused.value.response["error"] == "invalid_arguments"


def test_bytes_of_another_length_are_refused_and_cannot_be_shared(standin: SlackStandIn) -> None:
    web = client(standin)
    given = web.files_getUploadURLExternal(filename="r.html", length=10)

    url = given["upload_url"]
    assert url.startswith("http://127.0.0.1:")
    request = urllib.request.Request(url, data=b"12345", method="POST")  # noqa: S310
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)  # noqa: S310 (the stand-in, on loopback)
    assert refused.value.code == 400

    files = [{"id": given["file_id"], "title": "r"}]
    with pytest.raises(SlackApiError) as incomplete:
        web.files_completeUploadExternal(files=files, channel_id="C0ACME")
    assert incomplete.value.response["error"] == "file_not_found"


def test_a_file_is_shared_only_in_a_channel(standin: SlackStandIn) -> None:
    with pytest.raises(SlackApiError) as refused:
        client(standin).files_upload_v2(channel="acme", content=b"x", filename="r.html")
    assert refused.value.response["error"] == "invalid_channel"


def test_a_failure_can_be_injected_like_any_method(standin: SlackStandIn) -> None:
    standin.fail_next("files.completeUploadExternal", "not_in_channel")
    with pytest.raises((SlackApiError, SlackRequestError)) as refused:
        client(standin).files_upload_v2(channel="C0ACME", content=b"x", filename="r.html")
    assert "not_in_channel" in json.dumps(str(refused.value))
