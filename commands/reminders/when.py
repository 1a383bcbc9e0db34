"""Read a due time as people type it, in their own time zone, and turn it into UTC.

Forms: `in 3d`, `in 2h`, `in 1w`, `in 90m` (also `in 3 days`), `today 17:00`, `tomorrow`,
`tomorrow 09:00`, `2026-12-01`, `2026-12-01 09:00` (also `9am`, `5:30pm`). A day without a time
means 09:00. Days and weeks keep the wall-clock time across a daylight-saving change (`in 1d`
at 09:00 is 09:00 the next day); hours and minutes are exact durations. Past times, dates that
do not exist (31 February, a time skipped by the clocks going forward) and anything more than a
year ahead are refused with an example.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from commands.core.text import Command, Text

DEFAULT_TIME = time(9, 0)
MAX_AHEAD = timedelta(days=366)
EXAMPLES = "in 3d, in 2h, tomorrow 09:00, 2026-12-01 09:00"

_IN_UNITS: dict[str, str] = {
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), "minutes"),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), "hours"),
    **dict.fromkeys(("d", "day", "days"), "days"),
    **dict.fromkeys(("w", "wk", "week", "weeks"), "weeks"),
}
_AMOUNT_UNIT = re.compile(r"^(\d{1,4})([a-z]+)?$")
_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_TIME = re.compile(r"^(\d{1,2})(?::(\d{2}))?(am|pm)?$")
_PAST_WORDS = {"yesterday", "ago", "last"}
_START_WORDS = {"in", "today", "tomorrow", *_PAST_WORDS}


class BadTime(ValueError):
    """The time cannot be used; `text` says why, with an example."""

    def __init__(self, text: Text) -> None:
        super().__init__(text.template)
        self.text = text


@dataclass(frozen=True)
class Due:
    at: datetime  # UTC
    words: int  # how many of the given words the time took
    zone: str  # the time zone it was read in


def looks_like_time(word: str) -> bool:
    """Whether a command's word starts a due time (so it is not a customer key)."""
    lowered = word.lower()
    return lowered in _START_WORDS or bool(_DATE.match(lowered))


def zone_of(name: str | None) -> tuple[tzinfo, str]:
    """The person's time zone from Slack (users.info tz); UTC when unknown or not valid."""
    if name:
        try:
            return ZoneInfo(name), name
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return UTC, "UTC"


def parse_due(words: Sequence[str], *, now: datetime, tz: str | None) -> Due:
    """Read a due time from the start of `words`; raise BadTime saying what is wrong."""
    zone, zone_name = zone_of(tz)
    if not words:
        raise _bad("Say when.")
    first = words[0].lower()
    if first in _PAST_WORDS:
        raise _bad(
            "{when} is in the past; reminders are for later.",
            when=words[0] if first == "yesterday" else " ".join(words[:2]),
        )
    if first == "in":
        at, used = _relative(words[1:], now, zone)
        used += 1
    elif first in ("today", "tomorrow"):
        day = now.astimezone(zone).date() + timedelta(days=1 if first == "tomorrow" else 0)
        clock, used = _clock(words[1:2])
        at = _local(day, clock, zone, zone_name)
        used += 1
    elif _DATE.match(first):
        day = _date(first)
        clock, used = _clock(words[1:2])
        at = _local(day, clock, zone, zone_name)
        used += 1
    else:
        raise _bad("I could not read {when} as a time.", when=words[0])
    if at <= now:
        raise _bad(
            "{when} ({zone}) is in the past; reminders are for later.",
            when=" ".join(words[:used]),
            zone=zone_name,
        )
    if at - now > MAX_AHEAD:
        raise _bad(
            "{when} is more than a year ahead; a reminder can be at most a year away.",
            when=" ".join(words[:used]),
        )
    return Due(at.astimezone(UTC), used, zone_name)


def _relative(words: Sequence[str], now: datetime, zone: tzinfo) -> tuple[datetime, int]:
    """`3d`, `3 d`, `3 days` after `in`."""
    if not words:
        raise _bad("Say how long after {word}.", word="in")
    match = _AMOUNT_UNIT.match(words[0].lower())
    if match is None:
        raise _bad("I could not read {when} as a time.", when="in " + words[0])
    amount, unit, used = int(match.group(1)), match.group(2), 1
    if unit is None and len(words) > 1 and words[1].lower() in _IN_UNITS:
        unit, used = words[1].lower(), 2
    if unit is None or unit not in _IN_UNITS:
        raise _bad(
            "{when} needs a unit: m (minutes), h (hours), d (days) or w (weeks).",
            when="in " + " ".join(words[:used]),
        )
    if amount == 0:
        raise _bad("{when} is now; say a time in the future.", when="in " + words[0])
    span = _IN_UNITS[unit]
    if span in ("minutes", "hours"):
        return now + timedelta(**{span: amount}), used
    # Days and weeks move the calendar and keep the wall-clock time, across DST changes too.
    local = now.astimezone(zone)
    days = amount * (7 if span == "weeks" else 1)
    wall = local.replace(tzinfo=None) + timedelta(days=days)
    return _settle(wall, zone), used


def _clock(words: Sequence[str]) -> tuple[time, int]:
    """An optional time of day after a day: 09:00, 9:30, 9am, 5:30pm. None given: 09:00."""
    if not words:
        return DEFAULT_TIME, 0
    match = _TIME.match(words[0].lower())
    if match is None or (match.group(2) is None and match.group(3) is None):
        return DEFAULT_TIME, 0  # the reminder's text starts here
    hour, minute, half = int(match.group(1)), int(match.group(2) or 0), match.group(3)
    if half is not None:
        if not 1 <= hour <= 12:
            raise _bad("{time} is not a time of day.", time=words[0])
        hour = hour % 12 + (12 if half == "pm" else 0)
    if hour > 23 or minute > 59:
        raise _bad("{time} is not a time of day; use 24-hour HH:MM.", time=words[0])
    return time(hour, minute), 1


def _date(text: str) -> date:
    match = _DATE.match(text)
    assert match is not None
    year, month, day = (int(g) for g in match.groups())
    try:
        return date(year, month, day)
    except ValueError:
        if 1 <= month <= 12:
            name = date(2000, month, 1).strftime("%B")
            raise _bad(
                "{year} has no {day} {month}.", year=str(year), day=str(day), month=name
            ) from None
        raise _bad("{date} is not a date; write YYYY-MM-DD.", date=text) from None


def _local(day: date, clock: time, zone: tzinfo, zone_name: str) -> datetime:
    wall = datetime.combine(day, clock)
    at = wall.replace(tzinfo=zone)
    # A wall time the clocks skip (spring forward) does not survive a round trip through UTC.
    if at.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != wall:
        raise _bad(
            "{when} does not exist in {zone}: the clocks go forward then. Pick another time.",
            when=wall.strftime("%Y-%m-%d %H:%M"),
            zone=zone_name,
        )
    return at


def _settle(wall: datetime, zone: tzinfo) -> datetime:
    """A wall time in `zone`; one skipped by the clocks moves on by the skipped hour."""
    at = wall.replace(tzinfo=zone)
    back = at.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
    return at if back == wall else at.astimezone(UTC).astimezone(zone)


def _bad(template: str, **values: str) -> BadTime:
    return BadTime(
        Text(
            template + " For example: {example}.",
            **values,
            example=Command("remind acme tomorrow 09:00 call the ISP"),
        )
    )
