"""The Slack stand-in and signing helpers themselves: end-to-end tests lean on both."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from urllib.parse import parse_qs

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.webhook import WebhookClient
from support.signing import (
    event_body,
    interaction_body,
    post,
    sign,
    slash_command_body,
)
from support.slack_standin import SlackStandIn, SlashCommandNotOffered

BLOCKS = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hello*"}}]
METADATA = {"event_type": "connect_rfi", "event_payload": {"customer": "acme"}}


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn() as standin:
        yield standin


@pytest.fixture
def client(slack: SlackStandIn) -> WebClient:
    # No retry handlers: failures must surface as they are, not be retried away.
    return WebClient(token="xoxb-test", base_url=slack.api_url, retry_handlers=[])


def test_auth_test(client: WebClient, slack: SlackStandIn) -> None:
    response = client.auth_test()

    assert response["ok"] is True
    assert response["team_id"] == "T0TEST"
    assert response["user_id"] == "U0BOT"
    assert response["bot_id"] == "B0BOT"
    assert response["is_enterprise_install"] is False
    (call,) = slack.calls("auth.test")
    assert call.token == "xoxb-test"
    assert call.answered == "ok"


def test_post_message_records_blocks_and_metadata(client: WebClient, slack: SlackStandIn) -> None:
    first = client.chat_postMessage(
        channel="C0ACME", text="hello", blocks=BLOCKS, metadata=METADATA
    )
    second = client.chat_postMessage(channel="C0ACME", text="reply", thread_ts=first["ts"])

    assert first["channel"] == "C0ACME"
    assert first["ts"] == "1700000000.000100"
    assert float(second["ts"]) > float(first["ts"])
    assert first["message"]["blocks"] == BLOCKS
    assert first["message"]["metadata"] == METADATA
    assert second["message"]["thread_ts"] == first["ts"]
    call = slack.calls("chat.postMessage")[0]
    assert call.params["blocks"] == BLOCKS
    assert call.params["metadata"] == METADATA
    assert call.params["text"] == "hello"


def test_form_encoded_json_values_are_decoded(client: WebClient, slack: SlackStandIn) -> None:
    # The form path (params=...) is what WebClient uses for most methods.
    client.api_call(
        "chat.postMessage",
        params={"channel": "C0ACME", "text": "[not json", "blocks": json.dumps(BLOCKS)},
    )

    (call,) = slack.calls("chat.postMessage")
    assert call.headers["content-type"] == "application/x-www-form-urlencoded"
    assert call.params["blocks"] == BLOCKS
    assert call.params["text"] == "[not json"


def test_update_ephemeral_and_users_info(client: WebClient, slack: SlackStandIn) -> None:
    posted = client.chat_postMessage(channel="C0ACME", text="working…")
    updated = client.chat_update(channel="C0ACME", ts=posted["ts"], text="done")
    ephemeral = client.chat_postEphemeral(channel="C0ACME", user="U0ENG", text="psst")
    user = client.users_info(user="U0ENG")["user"]

    assert (updated["channel"], updated["ts"], updated["text"]) == ("C0ACME", posted["ts"], "done")
    assert ephemeral["message_ts"]
    assert user["id"] == "U0ENG"
    assert user["tz"] == "Europe/London"
    assert user["tz_offset"] == 0
    assert user["is_bot"] is False
    assert [c.method for c in slack.calls()] == [
        "chat.postMessage",
        "chat.update",
        "chat.postEphemeral",
        "users.info",
    ]


def test_unknown_method_and_missing_token(slack: SlackStandIn) -> None:
    with pytest.raises(SlackApiError) as unknown:
        WebClient(token="xoxb-test", base_url=slack.api_url).api_call("no.such.method")
    with pytest.raises(SlackApiError) as unauthed:
        WebClient(base_url=slack.api_url).auth_test()

    assert unknown.value.response["error"] == "unknown_method"
    assert unauthed.value.response["error"] == "not_authed"
    assert [c.answered for c in slack.calls()] == ["error", "error"]


def test_response_url_post_is_recorded(slack: SlackStandIn) -> None:
    response = WebhookClient(slack.response_url("cmd-1")).send(
        text="checking…", response_type="ephemeral"
    )

    assert response.status_code == 200
    assert json.loads(response.body) == {"ok": True}
    (call,) = slack.wait_for("response_url")
    assert call.name == "cmd-1"
    assert call.params["text"] == "checking…"
    assert call.params["response_type"] == "ephemeral"


def test_fail_next(client: WebClient, slack: SlackStandIn) -> None:
    slack.fail_next("chat.postMessage", error="channel_not_found")

    with pytest.raises(SlackApiError) as failed:
        client.chat_postMessage(channel="C0GONE", text="hi")
    assert failed.value.response["error"] == "channel_not_found"
    assert client.chat_postMessage(channel="C0GONE", text="hi")["ok"] is True
    assert [c.answered for c in slack.calls("chat.postMessage")] == ["error", "ok"]


def test_rate_limit_next(client: WebClient, slack: SlackStandIn) -> None:
    slack.rate_limit_next("chat.postMessage", retry_after=7, channel="C0BUSY")

    # Another channel is not limited; the limited one gets a 429 once.
    assert client.chat_postMessage(channel="C0ACME", text="hi")["ok"] is True
    with pytest.raises(SlackApiError) as limited:
        client.chat_postMessage(channel="C0BUSY", text="hi")
    assert client.chat_postMessage(channel="C0BUSY", text="hi")["ok"] is True

    assert limited.value.response.status_code == 429
    assert limited.value.response.headers["Retry-After"] == "7"
    assert limited.value.response["error"] == "ratelimited"
    assert [c.answered for c in slack.calls()] == ["ok", "429", "ok"]


def test_delay(client: WebClient, slack: SlackStandIn) -> None:
    slack.delay("auth.test", 0.3)
    started = time.monotonic()
    client.auth_test()
    assert time.monotonic() - started >= 0.3


def test_wait_for_times_out_listing_calls(client: WebClient, slack: SlackStandIn) -> None:
    client.auth_test()

    started = time.monotonic()
    with pytest.raises(AssertionError, match=r"(?s)chat\.update.*auth\.test"):
        slack.wait_for("chat.update", timeout=0.2)
    assert time.monotonic() - started < 2
    assert len(slack.wait_for(lambda c: c.method == "auth.test")) == 1


def test_sign_matches_slack_sdk_verifier() -> None:
    body = slash_command_body("status acme", response_url="http://127.0.0.1:1/response/x")
    headers = sign("s3cret", body, timestamp=int(time.time()))
    verifier = SignatureVerifier("s3cret")

    ts, sig = headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"]
    assert verifier.is_valid(body, ts, sig)
    assert not SignatureVerifier("other").is_valid(body, ts, sig)
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"


def test_payload_builders() -> None:
    slash = parse_qs(slash_command_body("new acme", channel_id="C0X").decode())
    assert slash["command"] == ["/connect"]
    assert slash["text"] == ["new acme"]
    assert slash["channel_id"] == ["C0X"]
    assert slash["is_enterprise_install"] == ["false"]

    first = json.loads(event_body({"type": "message", "text": "hi"}))
    second = json.loads(event_body({"type": "message", "text": "hi"}))
    assert first["type"] == "event_callback"
    assert first["event"]["text"] == "hi"
    assert first["event_id"] != second["event_id"]

    interaction = parse_qs(interaction_body({"type": "block_actions"}).decode())
    assert json.loads(interaction["payload"][0]) == {"type": "block_actions"}


def test_post_returns_error_statuses(slack: SlackStandIn) -> None:
    # The stand-in answers unknown paths with 404; post() must return it, not raise.
    status, headers, body = post(f"{slack.url}/nowhere", "s3cret", b"x=1", signature="v0=bad")
    assert status == 404
    assert headers["content-type"].startswith("application/json")
    assert json.loads(body)["ok"] is False


def test_slash_commands_are_delivered_only_as_slack_offers_them(slack: SlackStandIn) -> None:
    """Slack offers an app's slash commands only to the organisation that installed it."""
    slack.check_slash_command("U0ENG", "T0TEST")  # the installing team's member: delivered
    slack.set_user("U0GUEST", team_id="T0ACME", is_stranger=True)
    slack.set_user("U0SISTER", team_id="T0SISTER", enterprise_user={"enterprise_id": "E0ORG"})
    refused = [
        ("U0GUEST", "T0ACME", None),  # a Slack Connect guest, from their own workspace
        ("U0GUEST", "T0TEST", None),  # ... or claiming the installing one
        ("U0NOBODY", "T0ELSEWHERE", None),  # typed in another organisation's workspace
        ("U0SISTER", "T0SISTER", "E0ORG"),  # the same Grid organisation, but not installed on it
    ]
    for user, team, enterprise in refused:
        with pytest.raises(SlashCommandNotOffered):
            slack.check_slash_command(user, team, enterprise)
    slack.enterprise_id = "E0ORG"  # installed for the Grid organisation: its members have it
    slack.check_slash_command("U0SISTER", "T0SISTER", "E0ORG")
