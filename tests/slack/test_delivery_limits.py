"""SlackSurface against the strict stand-in: a message too long goes as parts, a message Slack
refuses is said in its place, progress updates skip a rate limit and the final one waits for
Retry-After (issue 13)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.models.blocks import HeaderBlock, MarkdownTextObject, SectionBlock
from support.slack_standin import SlackStandIn, block_text_length

from bot.render.renderer import Message
from bot.slack import delivery
from bot.slack.delivery import SlackSurface


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn() as standin:
        yield standin


@pytest.fixture
def surface(slack: SlackStandIn) -> SlackSurface:
    client = WebClient(token="xoxb-test", base_url=slack.api_url, timeout=10)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=2))
    return SlackSurface(client)


def message(sections: int, size: int = 2_900) -> Message:
    blocks = [HeaderBlock(text="Report")] + [
        SectionBlock(text=MarkdownTextObject(text=f"{n} " + "x" * size, verbatim=True))
        for n in range(sections)
    ]
    return Message(text="Report\n" + "x" * sections * size, blocks=blocks, public=True)


def test_a_long_message_is_posted_as_a_summary_and_numbered_replies_in_its_thread(
    slack: SlackStandIn, surface: SlackSurface
) -> None:
    ts = surface.post("C1", message(12))
    calls = slack.calls("chat.postMessage")
    assert calls[0].response["ts"] == ts
    assert [c.params.get("thread_ts") for c in calls[1:]] == [ts] * (len(calls) - 1)
    assert len(calls) >= 4
    assert all(c.answered == "ok" for c in calls)
    assert all(block_text_length(c.params["blocks"]) < 10_000 for c in calls)
    assert all(len(c.params["text"]) < 4_000 for c in calls)


def test_a_final_update_too_long_updates_with_part_1_and_posts_the_rest(
    slack: SlackStandIn, surface: SlackSurface
) -> None:
    ts = surface.post("C1", message(1, 10), thread_ts="1700000000.000001")
    surface.update("C1", ts, message(8), final=True)
    (update,) = slack.calls("chat.update")
    assert update.answered == "ok"
    rest = slack.calls("chat.postMessage")[1:]
    assert rest
    # The message was a thread reply: the rest follows in that same thread.
    assert {c.params.get("thread_ts") for c in rest} == {"1700000000.000001"}


def test_a_refused_message_is_said_in_its_place(
    slack: SlackStandIn, surface: SlackSurface, caplog: pytest.LogCaptureFixture
) -> None:
    ts = surface.post("C1", message(1, 10))
    slack.fail_next("chat.update", "invalid_blocks")
    surface.update("C1", ts, message(1, 10), final=True)
    first, second = slack.calls("chat.update")
    assert first.answered == "error"
    assert second.answered == "ok"
    assert "Slack refused it (invalid_blocks)" in second.params["text"]
    assert "invalid_blocks" in caplog.text
    slack.fail_next("chat.postMessage", "msg_blocks_too_long")
    surface.post("C1", message(1, 10))
    said = slack.calls("chat.postMessage")[-1]
    assert "Slack refused it (msg_blocks_too_long)" in said.params["text"]


def test_progress_skips_a_rate_limit_and_the_final_update_waits_for_retry_after(
    slack: SlackStandIn, surface: SlackSurface, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(delivery, "UPDATES", delivery.UpdateLimit())
    ts = surface.post("C1", message(1, 10))
    slack.set_update_tier(1, window=2.0)
    surface.update("C1", ts, message(1, 20), final=False)
    surface.update("C1", ts, message(1, 30), final=False)  # 429: skipped, not retried
    surface.update("C1", ts, message(1, 40), final=False)  # skipped without asking Slack
    assert [c.answered for c in slack.calls("chat.update")] == ["ok", "429"]
    surface.update("C1", ts, message(1, 50), final=True)
    calls = slack.calls("chat.update")
    assert [c.answered for c in calls] == ["ok", "429", "ok"]
    # It waited for the tier's window to pass (Retry-After), then went through at once.
    assert calls[2].at - calls[0].at >= 2.0 - 0.05
