"""The /connect grammar: what parses, and the specific answer for what does not."""

from __future__ import annotations

import pytest

from bot.render import mrkdwn
from bot.render.mrkdwn import to_plain
from commands.grammar import MAX_COMMAND_CHARS, Command, UsageError, check_key, parse
from commands.verbs import VERBS


def message(exc: UsageError) -> str:
    return to_plain(mrkdwn.text(exc.text))


def test_open_with_flags_and_quoted_name() -> None:
    command = parse('open acme --service both --region eu --name "Acme Ltd"', VERBS)
    assert command == Command(
        "open", ("acme",), {"service": "both", "region": "eu", "name": "Acme Ltd"}
    )


def test_flag_equals_form_and_curly_quotes_from_slack_clients() -> None:
    command = parse("open acme --service=security --name \u201cAcme & Sons\u201d", VERBS)
    assert command.flags == {"service": "security", "name": "Acme & Sons"}


def test_verbs_are_case_insensitive_and_whitespace_is_trimmed() -> None:
    assert parse("  STATUS   acme  ", VERBS) == Command("status", ("acme",), {})


def test_empty_text_means_help() -> None:
    assert parse("", VERBS) == Command("help")
    assert parse("   ", VERBS) == Command("help")


def test_boolean_flag() -> None:
    assert parse("list --all", VERBS).flags == {"all": True}


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("frobnicate acme", "don't know the verb"),
        ("open acme --colour red", "has no flag --colour"),
        ("open acme --service", "--service needs a value"),
        ("open acme --service --region eu", "--service needs a value"),
        ("open acme --service both --service security", "given twice"),
        ("list --all=yes", "takes no value"),
        ("list everything", "does not take everything"),
        ("done acme outbound extra", "does not take extra"),
        ('open acme --name "Acme', "quote is not closed"),
        ("status acme\x00", "control characters"),
        ("status " + "a" * MAX_COMMAND_CHARS, "characters long"),
    ],
)
def test_bad_input_gets_a_specific_message(text: str, needle: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse(text, VERBS)
    assert needle in message(caught.value)


def test_unknown_flag_shows_the_verbs_usage() -> None:
    with pytest.raises(UsageError) as caught:
        parse("open acme --colour red", VERBS)
    assert caught.value.verb is not None
    assert caught.value.verb.name == "open"


@pytest.mark.parametrize("key", ["acme", "ac", "acme-corp", "a1", "x" * 40, "2degrees"])
def test_valid_keys(key: str) -> None:
    assert check_key(key) == key


@pytest.mark.parametrize(
    ("key", "suggestion"),
    [
        ("Acme", "acme"),
        ("Acme_Corp", "acme-corp"),
        ("a", None),
        ("x" * 41, "x" * 40),
        ("-acme", "acme"),
        ("acme-", "acme"),
        ("ünïcode", "unicode"),
        ("--", None),
    ],
)
def test_invalid_keys_explain_the_rule(key: str, suggestion: str | None) -> None:
    with pytest.raises(UsageError) as caught:
        check_key(key)
    text = message(caught.value)
    assert "lowercase letters, digits and hyphens, 2 to 40 characters" in text
    if suggestion:
        assert f"Did you mean {suggestion}?" in text
    else:
        assert "Did you mean" not in text


@pytest.mark.parametrize(
    ("text", "suggestion"),
    [
        ("stauts acme", "status acme"),
        ("STAUTS", "status"),
        ("open acme --serivce both", "open acme --service both"),
        ("open acme --serivce=both", "open acme --service=both"),
        ("lsit --al", "list --all"),  # the verb and its flag, in one suggestion
        ("remnid acme in 3d call", "remind acme in 3d call"),
        ("frobnicate acme", None),
        ("open acme --colour red", None),
        ("stauts " + "a" * 200, "status"),  # a long line: the verb alone
    ],
)
def test_a_near_miss_carries_what_was_meant(text: str, suggestion: str | None) -> None:
    with pytest.raises(UsageError) as caught:
        parse(text, VERBS)
    assert caught.value.suggestion == suggestion
