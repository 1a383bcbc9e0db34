"""Slack's Block Kit limits, and cutting text to fit them without breaking mrkdwn.

https://docs.slack.dev/reference/block-kit/blocks: a message has at most 50 blocks, a modal 100;
a section's text at most 3,000 characters, a header's plain text 150, a context block 10
elements. Whatever is cut says so ("… and N more") and the renderer adds where to see the rest.

Cutting never lands inside an escape (`&amp;`, `&lt;`, `&gt;`) or a `<...>` token (a mention,
a channel, a `<!date^...>`): people's text is escaped before it gets here, so every `<` left in
mrkdwn opens one of the renderer's own tokens, and half a token would show as garbage or, worse,
swallow the text after it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

MESSAGE_BLOCKS = 50
MODAL_BLOCKS = 100
SECTION_TEXT = 3_000
HEADER_TEXT = 150
CONTEXT_TEXT = 2_000  # Slack allows 3,000 for a text object; a context line stays short
CONTEXT_ELEMENTS = 10
ACTIONS_ELEMENTS = 25
BUTTON_TEXT = 75
BUTTON_VALUE = 2_000
MESSAGE_TEXT = 39_000  # Slack truncates a message's text past 40,000 characters
MODAL_TITLE = 24
INPUT_LABEL = 2_000
INPUT_HINT = 2_000
INPUT_VALUE = 3_000
PRIVATE_METADATA = 3_000
ERROR_TEXT = 150  # a modal field's error (response_action: errors), plain text

_ENTITY_MAX = len("&amp;")
ELLIPSIS = "…"


def safe_end(text: str, end: int) -> int:
    """The largest position <= end where `text` can be cut without splitting an escape or token."""
    end = max(0, min(end, len(text)))
    opening = text.rfind("<", 0, end)
    if opening != -1 and text.find(">", opening, end) == -1:
        end = opening
    amp = text.rfind("&", max(0, end - _ENTITY_MAX + 1), end)
    if amp != -1 and text.find(";", amp, end) == -1:
        end = amp
    return end


def cut_mrkdwn(text: str, limit: int, *, count: bool = True) -> str:
    """`text` in at most `limit` characters; a cut one ends "… and N more characters" (or "…")."""
    if len(text) <= limit:
        return text
    if not count:
        return text[: safe_end(text, limit - len(ELLIPSIS))].rstrip() + ELLIPSIS
    # The suffix's own length depends on N; the digits of len(text) bound it.
    room = limit - len(_more_chars(len(text)))
    kept = text[: safe_end(text, room)].rstrip()
    return kept + _more_chars(len(text) - len(kept))


def cut_plain(text: str, limit: int) -> str:
    """Plain text (headers, labels): any cut point is safe."""
    return text if len(text) <= limit else text[: limit - len(ELLIPSIS)].rstrip() + ELLIPSIS


def _more_chars(n: int) -> str:
    return f" {ELLIPSIS} and {n:,} more characters"


def sections(text: str, *, max_sections: int, limit: int = SECTION_TEXT) -> tuple[list[str], int]:
    """Split mrkdwn at line ends into at most `max_sections` texts of at most `limit` characters.

    Returns the texts and how many non-blank lines did not fit (0: everything is shown). A line
    longer than a whole section is cut on its own, saying how much was left out.
    """
    chunks: list[str] = []
    current = ""
    lines = text.splitlines()
    for index, line in enumerate(lines):
        line = cut_mrkdwn(line, limit)
        if current and len(current) + 1 + len(line) > limit:
            if len(chunks) + 1 >= max_sections:  # `current` takes the last place
                chunks.append(current)
                return chunks, sum(1 for rest in lines[index:] if rest.strip())
            chunks.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    if current.strip():
        chunks.append(current)
    return [c for c in chunks if c.strip()], 0


def more_lines(left_out: int, hint: str | None) -> str:
    """The note after a cut message: how much is missing and where to see it (mrkdwn)."""
    note = f"{ELLIPSIS} and {left_out:,} more line{'s' if left_out != 1 else ''}"
    return f"{note}: {hint}" if hint else f"{note}."


# --- checks (tests, and anything that wants to be sure before calling Slack) -----------------


def message_problems(blocks: Sequence[Mapping[str, Any]], text: str = "") -> list[str]:
    """Every Block Kit limit a message breaks (empty: Slack accepts its size)."""
    problems = _blocks_problems(blocks, MESSAGE_BLOCKS)
    if len(text) > MESSAGE_TEXT:
        problems.append(f"text has {len(text)} characters (max {MESSAGE_TEXT})")
    return problems


def view_problems(view: Mapping[str, Any]) -> list[str]:
    """Every limit a modal view breaks."""
    problems = _blocks_problems(view.get("blocks") or [], MODAL_BLOCKS)
    title = (view.get("title") or {}).get("text", "")
    if len(title) > MODAL_TITLE:
        problems.append(f"title has {len(title)} characters (max {MODAL_TITLE})")
    if len(view.get("private_metadata") or "") > PRIVATE_METADATA:
        problems.append("private_metadata too long")
    inputs = [b for b in view.get("blocks") or [] if b.get("type") == "input"]
    for block in inputs:
        for name, limit in (("label", INPUT_LABEL), ("hint", INPUT_HINT)):
            value = (block.get(name) or {}).get("text", "")
            if len(value) > limit:
                problems.append(f"input {name} has {len(value)} characters (max {limit})")
        initial = (block.get("element") or {}).get("initial_value") or ""
        if len(initial) > INPUT_VALUE:
            problems.append(f"input value has {len(initial)} characters (max {INPUT_VALUE})")
    return problems


def _blocks_problems(blocks: Sequence[Mapping[str, Any]], max_blocks: int) -> list[str]:
    problems: list[str] = []
    if len(blocks) > max_blocks:
        problems.append(f"{len(blocks)} blocks (max {max_blocks})")
    for number, block in enumerate(blocks, start=1):
        kind = block.get("type")
        where = f"block {number} ({kind})"
        if kind == "header":
            body = block["text"]
            if body.get("type") != "plain_text" or len(body.get("text", "")) > HEADER_TEXT:
                problems.append(f"{where}: header must be plain_text of at most {HEADER_TEXT}")
        elif kind == "section":
            body = block.get("text") or {}
            if not body.get("text", "").strip() or len(body["text"]) > SECTION_TEXT:
                problems.append(f"{where}: section text empty or over {SECTION_TEXT}")
        elif kind == "context":
            elements = block.get("elements") or []
            if not elements or len(elements) > CONTEXT_ELEMENTS:
                problems.append(f"{where}: {len(elements)} elements (1 to {CONTEXT_ELEMENTS})")
            for element in elements:
                if len(element.get("text", "")) > 3_000:
                    problems.append(f"{where}: element text over 3,000")
        elif kind == "actions":
            elements = block.get("elements") or []
            if not elements or len(elements) > ACTIONS_ELEMENTS:
                problems.append(f"{where}: {len(elements)} elements (1 to {ACTIONS_ELEMENTS})")
            for element in elements:
                label = (element.get("text") or {}).get("text", "")
                if len(label) > BUTTON_TEXT or len(element.get("value") or "") > BUTTON_VALUE:
                    problems.append(f"{where}: button label or value too long")
    return problems


# --- one message's whole size: split into parts at block boundaries ---------------------------

# All blocks' text together stays under this: Slack's cumulative limit is undocumented (about
# 12,000 "with a buffer for block containers"); refusals are reported from about 11,300.
MESSAGE_CHARS = 10_000
# The notification text of a message with blocks: a short summary, not the whole report.
FALLBACK_TEXT = 3_000
_PART_NOTE_ROOM = 120  # characters kept free in each part for its "Part i of n" line
_HEAD_TYPES = ("header", "context")
_TAIL_TYPES = ("context", "actions")

Blocks = list[dict[str, Any]]


def text_chars(blocks: object) -> int:
    """Characters of text in every text field of `blocks`, nested ones included: what Slack's
    cumulative limit counts."""
    if isinstance(blocks, list | tuple):
        return sum(text_chars(item) for item in blocks)
    if isinstance(blocks, Mapping):
        return sum(
            len(value) if key == "text" and isinstance(value, str) else text_chars(value)
            for key, value in blocks.items()
        )
    return 0


def fallback(text: str, *, has_blocks: bool = True) -> str:
    """The `text` of a message: a short summary beside blocks, the content itself without."""
    return cut_mrkdwn(text, FALLBACK_TEXT if has_blocks else MESSAGE_TEXT)


def split_message(
    text: str, blocks: Sequence[Mapping[str, Any]], *, limit: int = MESSAGE_CHARS
) -> list[tuple[str, Blocks]]:
    """A message as parts that each fit Slack's whole-message size, cut between blocks: the
    first part keeps the message's head (header, context), its closing (footer, buttons) and as
    much of its body as fits; the rest of the body follows in parts 2..n, each starting with
    "Part i of n". One part (the message as it is) when it fits. Returns (text, blocks) pairs.
    """
    whole = [dict(block) for block in blocks]
    if text_chars(whole) <= limit and len(whole) <= MESSAGE_BLOCKS:
        return [(fallback(text, has_blocks=bool(whole)), whole)]
    start = 0
    while start < len(whole) and whole[start].get("type") in _HEAD_TYPES:
        start += 1
    end = len(whole)
    while end > start and whole[end - 1].get("type") in _TAIL_TYPES:
        end -= 1
    head, body, tail = whole[:start], whole[start:end], whole[end:]
    room = limit - _PART_NOTE_ROOM
    first_room = room - text_chars(head) - text_chars(tail)
    first_blocks = MESSAGE_BLOCKS - 1 - len(head) - len(tail)
    if not body or first_room <= 0 or first_blocks <= 0:
        head, body, tail = [], whole, []  # no body to spread: cut anywhere between blocks
        first_room, first_blocks = room, MESSAGE_BLOCKS - 1
    chunks = _chunks(body, first_room, first_blocks, room, MESSAGE_BLOCKS - 1)
    total = len(chunks)
    parts: list[tuple[str, Blocks]] = []
    for number, chunk in enumerate(chunks, start=1):
        if number == 1:
            note = _part_note(f"Part 1 of {total}: the rest follows in this thread.")
            parts.append((fallback(text), [*head, *chunk, note, *tail]))
        else:
            label = f"Part {number} of {total}"
            parts.append((fallback(f"{label}\n{_texts(chunk)}"), [_part_note(label), *chunk]))
    return parts


def _chunks(
    body: Blocks, first_room: int, first_blocks: int, room: int, max_blocks: int
) -> list[Blocks]:
    """`body` cut greedily between blocks: the first chunk within (first_room, first_blocks),
    every other within (room, max_blocks). A block too big for any chunk goes alone."""
    chunks: list[Blocks] = [[]]
    used = 0
    for block in body:
        size = text_chars(block)
        cap, count = (first_room, first_blocks) if len(chunks) == 1 else (room, max_blocks)
        if chunks[-1] and (used + size > cap or len(chunks[-1]) >= count):
            chunks.append([])
            used = 0
        chunks[-1].append(block)
        used += size
    return chunks


def _part_note(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text, "verbatim": True}]}


def _texts(blocks: Blocks) -> str:
    """The mrkdwn of a part's sections, for its notification text."""
    return "\n".join(
        str((block.get("text") or {}).get("text", ""))
        for block in blocks
        if isinstance(block.get("text"), Mapping)
    )
