"""The seal on a modal's private_metadata: it opens only for its form, its person, in time."""

from __future__ import annotations

import json

from bot.slack.view_seal import TTL_SECONDS, ViewSeal

NOW = 1_800_000_000.0


def seal_at(now: float, root: str = "root") -> ViewSeal:
    return ViewSeal(root, clock=lambda: now)


def test_a_seal_opens_for_its_form_and_person_with_what_it_carries() -> None:
    sealed = seal_at(NOW).seal(
        "rfi_form", {"key": "acme", "keep": ["domains"]}, user_id="U1", channel_id="C1"
    )
    opened = seal_at(NOW + 60).open("rfi_form", sealed, user_id="U1")
    assert opened is not None
    assert (dict(opened.data), opened.user_id, opened.channel_id) == (
        {"key": "acme", "keep": ["domains"]},
        "U1",
        "C1",
    )


def test_a_seal_refuses_another_person_another_form_another_key_and_lateness() -> None:
    sealed = seal_at(NOW).seal(
        "credentials", {"key": "acme", "kind": "pop"}, user_id="U1", channel_id="C1"
    )
    assert seal_at(NOW).open("credentials", sealed, user_id="U2") is None
    assert seal_at(NOW).open("rfi_form", sealed, user_id="U1") is None
    assert seal_at(NOW, root="other").open("credentials", sealed, user_id="U1") is None
    assert seal_at(NOW + TTL_SECONDS + 1).open("credentials", sealed, user_id="U1") is None
    assert seal_at(NOW + TTL_SECONDS - 1).open("credentials", sealed, user_id="U1") is not None


def test_any_change_to_a_sealed_value_breaks_the_seal() -> None:
    sealed = json.loads(
        seal_at(NOW).seal("rfi_form", {"key": "acme"}, user_id="U1", channel_id="C1")
    )
    for field, value in (("d", {"key": "other"}), ("c", "C2"), ("u", "U2"), ("e", 2**40)):
        forged = json.dumps({**sealed, field: value})
        assert seal_at(NOW).open("rfi_form", forged, user_id=str(sealed["u"])) is None, field


def test_junk_metadata_opens_nothing() -> None:
    seal = seal_at(NOW)
    for junk in (None, "", "{}", "[]", "not json", '{"d": {"key": "acme"}}', '{"s": 1}'):
        assert seal.open("rfi_form", junk, user_id="U1") is None
