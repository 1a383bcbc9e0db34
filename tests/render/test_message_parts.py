"""A message too long for Slack is cut into parts between blocks, each within the whole-message
limit, the first keeping the head and the buttons (issue 13: message size)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from support.slack_standin import block_text_length, blocks_valid

from bot.render import limits


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text, "verbatim": True}}


HEADER = {"type": "header", "text": {"type": "plain_text", "text": "Checks for acme"}}
CONTEXT = {"type": "context", "elements": [{"type": "mrkdwn", "text": "40 failed"}]}
ACTIONS = {
    "type": "actions",
    "elements": [
        {"type": "button", "text": {"type": "plain_text", "text": "Run"}, "action_id": "run"}
    ],
}


def test_a_short_message_is_one_part_as_it_is() -> None:
    blocks = [HEADER, section("hello")]
    assert limits.split_message("hello", blocks) == [("hello", blocks)]


def test_a_long_report_keeps_head_and_buttons_first_and_numbers_the_rest() -> None:
    body = [section(f"line {n} " + "x" * 2_900) for n in range(12)]  # ~35,000 characters
    blocks = [HEADER, CONTEXT, *body, CONTEXT, ACTIONS]
    parts = limits.split_message("Checks for acme\n" + "y" * 50_000, blocks)
    assert len(parts) >= 4
    first = parts[0][1]
    assert first[:2] == [HEADER, CONTEXT]
    assert first[-2:] == [CONTEXT, ACTIONS]
    assert "Part 1 of" in str(first[-3])
    shown = [b for _, blocks in parts for b in blocks if b in body]
    assert shown == body  # every body block once, in order
    for number, (text, part) in enumerate(parts, start=1):
        assert limits.text_chars(part) <= limits.MESSAGE_CHARS
        assert block_text_length(part) == limits.text_chars(part)
        assert len(text) < 4_000
        assert blocks_valid(part)
        if number > 1:
            assert part[0]["elements"][0]["text"] == f"Part {number} of {len(parts)}"
            assert text.startswith(f"Part {number} of {len(parts)}")


def test_fifty_small_blocks_and_more_are_split_by_count_too() -> None:
    blocks = [section(f"line {n}") for n in range(120)]
    parts = limits.split_message("t", blocks)
    assert all(len(p) <= limits.MESSAGE_BLOCKS for _, p in parts)
    assert sum(len(p) for _, p in parts) == 120 + len(parts)  # one "Part i of n" each


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.lists(st.integers(min_value=1, max_value=3_000), min_size=1, max_size=80))
def test_any_message_of_valid_blocks_splits_into_valid_parts(sizes: list[int]) -> None:
    body = [section("z" * n) for n in sizes]
    blocks = [HEADER, *body, ACTIONS]
    parts = limits.split_message("t", blocks)
    assert [b for _, p in parts for b in p if b in body] == body
    for _, part in parts:
        assert block_text_length(part) <= limits.MESSAGE_CHARS
        assert blocks_valid(part)
