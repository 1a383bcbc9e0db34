"""The stand-in refuses what Slack refuses: too much block text, invalid Block Kit, chat.update
beyond its tier, posts to an archived channel (issue 13, section 3)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from support.slack_standin import SlackStandIn, block_text_length


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn() as standin:
        yield standin


@pytest.fixture
def client(slack: SlackStandIn) -> WebClient:
    return WebClient(token="xoxb-test", base_url=slack.api_url, retry_handlers=[])


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def error_of(call: Any) -> tuple[int, str]:
    with pytest.raises(SlackApiError) as caught:
        call()
    return caught.value.response.status_code, str(caught.value.response["error"])


def test_more_than_11000_characters_of_block_text_is_msg_blocks_too_long(
    client: WebClient,
) -> None:
    four = [section("x" * 2_900) for _ in range(4)]  # 11,600 in all, each section valid
    assert block_text_length(four) == 11_600
    assert error_of(lambda: client.chat_postMessage(channel="C1", text="t", blocks=four)) == (
        200,
        "msg_blocks_too_long",
    )
    ts = client.chat_postMessage(channel="C1", text="t", blocks=four[:3])["ts"]
    assert error_of(lambda: client.chat_update(channel="C1", ts=ts, text="t", blocks=four)) == (
        200,
        "msg_blocks_too_long",
    )


def test_invalid_block_kit_is_invalid_blocks(client: WebClient) -> None:
    for blocks in (
        [section("x" * 3_001)],  # a section's text is at most 3,000
        [{"type": "no_such_block"}],
        [section("x")] * 51,
        [{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}],
    ):
        assert error_of(
            lambda b=blocks: client.chat_postMessage(channel="C1", text="t", blocks=b)
        ) == (
            200,
            "invalid_blocks",
        )


def test_chat_update_beyond_its_tier_gets_429_with_retry_after(
    client: WebClient, slack: SlackStandIn
) -> None:
    slack.set_update_tier(3, window=60.0)
    ts = client.chat_postMessage(channel="C1", text="t")["ts"]
    for _ in range(3):
        client.chat_update(channel="C1", ts=ts, text="u")
    with pytest.raises(SlackApiError) as caught:
        client.chat_update(channel="C1", ts=ts, text="u")
    response = caught.value.response
    assert response.status_code == 429
    assert 50 <= int(response.headers["Retry-After"]) <= 60
    slack.set_update_tier(None)
    client.chat_update(channel="C1", ts=ts, text="u")


def test_posting_to_an_archived_channel_is_is_archived(
    client: WebClient, slack: SlackStandIn
) -> None:
    slack.archive("C1")
    assert error_of(lambda: client.chat_postMessage(channel="C1", text="t")) == (200, "is_archived")
    client.chat_postMessage(channel="C2", text="t")
    slack.archive("C1", archived=False)
    client.chat_postMessage(channel="C1", text="t")


def test_modal_views_are_validated_too(client: WebClient) -> None:
    view = {
        "type": "modal",
        "title": {"type": "plain_text", "text": "T"},
        "blocks": [section("x" * 3_001)],
    }
    assert error_of(lambda: client.views_open(trigger_id="1.2.3", view=view)) == (
        200,
        "invalid_blocks",
    )
