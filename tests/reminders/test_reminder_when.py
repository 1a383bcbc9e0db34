"""Due times as people type them: good ones in several zones (across DST changes), bad ones
refused with a reason and an example."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from commands.reminders.when import BadTime, looks_like_time, parse_due, zone_of

# Saturday 28 Nov 2026, 07:00 UTC (08:00 in Paris, 02:00 in New York, 18:00 in Sydney).
NOW = datetime(2026, 11, 28, 7, 0, tzinfo=UTC)


def due(text: str, tz: str | None = "Europe/London", now: datetime = NOW) -> datetime:
    return parse_due(text.split(), now=now, tz=tz).at


def refusal(text: str, tz: str | None = "Europe/London", now: datetime = NOW) -> str:
    with pytest.raises(BadTime) as caught:
        parse_due(text.split(), now=now, tz=tz)
    rendered = caught.value.text.template.format_map(
        {k: getattr(v, "text", v) for k, v in caught.value.text.values.items()}
    )
    assert "remind acme tomorrow 09:00" in rendered  # every refusal has an example
    return rendered


@pytest.mark.parametrize(
    ("text", "expected", "words"),
    [
        ("in 3d call the ISP", datetime(2026, 12, 1, 7, 0, tzinfo=UTC), 2),
        ("in 3 days call", datetime(2026, 12, 1, 7, 0, tzinfo=UTC), 3),
        ("in 2h", datetime(2026, 11, 28, 9, 0, tzinfo=UTC), 2),
        ("in 90m x", datetime(2026, 11, 28, 8, 30, tzinfo=UTC), 2),
        ("in 1w", datetime(2026, 12, 5, 7, 0, tzinfo=UTC), 2),
        ("tomorrow 09:00 call", datetime(2026, 11, 29, 9, 0, tzinfo=UTC), 2),
        ("tomorrow call", datetime(2026, 11, 29, 9, 0, tzinfo=UTC), 1),
        ("tomorrow 5:30pm", datetime(2026, 11, 29, 17, 30, tzinfo=UTC), 2),
        ("today 17:00", datetime(2026, 11, 28, 17, 0, tzinfo=UTC), 2),
        ("2026-12-01 09:00 x", datetime(2026, 12, 1, 9, 0, tzinfo=UTC), 2),
        ("2026-12-01 the text", datetime(2026, 12, 1, 9, 0, tzinfo=UTC), 1),
        ("IN 3D", datetime(2026, 12, 1, 7, 0, tzinfo=UTC), 2),
    ],
)
def test_good_times_in_london(text: str, expected: datetime, words: int) -> None:
    parsed = parse_due(text.split(), now=NOW, tz="Europe/London")
    assert parsed.at == expected
    assert parsed.at.tzinfo is UTC
    assert parsed.words == words
    assert parsed.zone == "Europe/London"


def test_wall_clock_times_are_read_in_the_persons_zone() -> None:
    assert due("2026-12-01 09:00", "Europe/Paris") == datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    assert due("2026-12-01 09:00", "America/New_York") == datetime(2026, 12, 1, 14, tzinfo=UTC)
    assert due("2026-12-01 09:00", "Asia/Kolkata") == datetime(2026, 12, 1, 3, 30, tzinfo=UTC)
    # It is already Saturday evening in Sydney: tomorrow is Sunday 29 there.
    assert due("tomorrow 09:00", "Australia/Sydney") == datetime(2026, 11, 28, 22, 0, tzinfo=UTC)
    # Honolulu is still on Friday evening (21:00): tomorrow is Saturday 28 there.
    assert due("tomorrow 09:00", "Pacific/Honolulu") == datetime(2026, 11, 28, 19, 0, tzinfo=UTC)


def test_unknown_or_missing_zone_means_utc() -> None:
    assert due("2026-12-01 09:00", None) == datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    assert due("2026-12-01 09:00", "Mars/Olympus") == datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    assert zone_of("Not/AZone")[1] == "UTC"
    assert zone_of("../etc/passwd")[1] == "UTC"


def test_days_keep_the_wall_clock_across_dst() -> None:
    # Saturday 28 March 2026, 09:00 GMT; the clocks go forward on Sunday 29 March.
    before = datetime(2026, 3, 28, 9, 0, tzinfo=UTC)
    # `in 1d` is 09:00 BST the next day (08:00 UTC), not 24 hours later (10:00 BST).
    assert due("in 1d", now=before) == datetime(2026, 3, 29, 8, 0, tzinfo=UTC)
    assert due("in 1w", now=before) == datetime(2026, 4, 4, 8, 0, tzinfo=UTC)
    # Hours are exact durations.
    assert due("in 24h", now=before) == datetime(2026, 3, 29, 9, 0, tzinfo=UTC)
    # Autumn: Saturday 24 October 2026, 09:00 BST; the clocks go back on Sunday 25 October.
    autumn = datetime(2026, 10, 24, 8, 0, tzinfo=UTC)
    assert due("in 1d", now=autumn) == datetime(2026, 10, 25, 9, 0, tzinfo=UTC)
    assert due("2026-10-26 09:00", now=autumn) == datetime(2026, 10, 26, 9, 0, tzinfo=UTC)
    assert due("2026-10-23 09:00", now=datetime(2026, 10, 1, tzinfo=UTC)) == datetime(
        2026, 10, 23, 8, 0, tzinfo=UTC
    )


def test_a_time_the_clocks_skip_is_refused_and_a_repeated_one_is_the_first() -> None:
    spring = datetime(2026, 3, 1, tzinfo=UTC)
    assert "does not exist in Europe/London" in refusal("2026-03-29 01:30", now=spring)
    assert "does not exist in America/New_York" in refusal(
        "2026-03-08 02:30", "America/New_York", now=spring
    )
    # 01:30 on 25 October happens twice in London: the first (BST) is meant.
    autumn = datetime(2026, 10, 1, tzinfo=UTC)
    assert due("2026-10-25 01:30", now=autumn) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    # `in 1d` landing in the skipped hour moves on by that hour instead of failing.
    late = datetime(2026, 3, 28, 1, 30, tzinfo=UTC)  # 01:30 GMT
    assert due("in 1d", now=late) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("yesterday call", "yesterday is in the past"),
        ("last week", "last week is in the past"),
        ("2026-02-31 09:00", "2026 has no 31 February"),
        ("2027-02-29", "2027 has no 29 February"),
        ("2026-13-01", "not a date"),
        ("2026-11-27 09:00", "in the past"),
        ("today 06:00", "in the past"),
        ("2027-11-29", "more than a year ahead"),
        ("in 400d", "more than a year ahead"),
        ("in 60w", "more than a year ahead"),
        ("in 0d", "is now"),
        ("in 3", "needs a unit"),
        ("in 3x", "needs a unit"),
        ("in soon", "could not read"),
        ("in", "how long"),
        ("tomorrow 25:00", "not a time of day"),
        ("tomorrow 13pm", "not a time of day"),
        ("tomorrow 09:75", "not a time of day"),
        ("next tuesday", "could not read"),
    ],
)
def test_bad_times_are_refused_with_a_reason(text: str, says: str) -> None:
    assert says in refusal(text)


def test_nothing_said() -> None:
    assert "Say when" in refusal("")


def test_a_year_ahead_is_the_limit() -> None:
    assert due("2027-11-28 06:00") == datetime(2027, 11, 28, 6, 0, tzinfo=UTC)
    assert due("in 52w") == datetime(2027, 11, 27, 7, 0, tzinfo=UTC)


def test_which_words_start_a_time() -> None:
    for word in ("in", "tomorrow", "Today", "2026-12-01", "yesterday"):
        assert looks_like_time(word)
    for word in ("acme", "cancel", "2026", "09:00"):
        assert not looks_like_time(word)
