"""The users.info time-zone cache, against the Slack stand-in."""

from __future__ import annotations

from slack_sdk import WebClient
from support.slack_standin import SlackStandIn

from bot.user_zones import UserZones


def asked(standin: SlackStandIn, user: str) -> int:
    return sum(1 for c in standin.calls("users.info") if c.params.get("user") == user)


def test_zones_are_cached_expire_and_are_bounded(standin: SlackStandIn) -> None:
    client = WebClient(token="xoxb-test", base_url=standin.api_url)
    standin.set_user("U1", tz="Asia/Tokyo")
    standin.set_user("U2", tz="America/Chicago")
    zones = UserZones(max_entries=2)
    assert zones.get(client, "U1") == "Asia/Tokyo"
    assert zones.get(client, "U1") == "Asia/Tokyo"
    assert asked(standin, "U1") == 1  # the second came from the cache
    assert zones.get(client, "U2") == "America/Chicago"
    assert zones.get(client, "U3") == "Europe/London"  # the stand-in's default
    zones.get(client, "U1")  # U1 was the oldest entry: evicted, asked again
    assert asked(standin, "U1") == 2

    fresh = UserZones(ttl=0.0)
    fresh.get(client, "U2")
    fresh.get(client, "U2")
    assert asked(standin, "U2") == 3  # 1 above + 2 here: nothing is kept with ttl 0


def test_a_refused_lookup_means_utc_and_is_not_cached(standin: SlackStandIn) -> None:
    client = WebClient(token="xoxb-test", base_url=standin.api_url)
    standin.set_user("U9", tz="Europe/Paris")
    standin.fail_next("users.info", "missing_scope")
    zones = UserZones()
    assert zones.get(client, "U9") is None
    assert zones.get(client, "U9") == "Europe/Paris"  # asked again once Slack answers
