"""Time zones from identity's one users.info cache (the same answer decides the role), against
the Slack stand-in."""

from __future__ import annotations

from slack_sdk import WebClient
from support.slack_standin import SlackStandIn

from bot.slack.identity import Home, Identity
from commands.core.roles import Role


def asked(standin: SlackStandIn, user: str) -> int:
    return sum(1 for c in standin.calls("users.info") if c.params.get("user") == user)


def identity(standin: SlackStandIn, *, ttl: float = 300.0) -> Identity:
    client = WebClient(token="xoxb-test", base_url=standin.api_url)
    return Identity(client, Home(team_id="T0TEST"), ttl=ttl)


def test_one_users_info_answers_the_role_and_the_zone_and_is_cached(standin: SlackStandIn) -> None:
    standin.set_user("U1", tz="Asia/Tokyo")
    people = identity(standin)
    people.role("U1", "T0TEST")
    assert people.zone("U1") == "Asia/Tokyo"
    assert people.zone("U1") == "Asia/Tokyo"
    assert asked(standin, "U1") == 1  # the role's answer gave the zone; then the cache

    standin.set_user("U2", tz="America/Chicago")
    fresh = identity(standin, ttl=0.0)
    fresh.zone("U2")
    fresh.zone("U2")
    assert asked(standin, "U2") == 2  # nothing is kept with ttl 0


def test_a_refused_lookup_means_utc_and_the_lesser_role_and_is_not_cached(
    standin: SlackStandIn,
) -> None:
    standin.set_user("U9", tz="Europe/Paris")
    people = identity(standin)
    standin.fail_next("users.info", "missing_scope")
    assert people.zone("U9") is None
    assert people.zone("U9") == "Europe/Paris"  # asked again once Slack answers
    standin.fail_next("users.info", "missing_scope")
    people.forget()
    assert people.role("U9", "T0TEST") is Role.CUSTOMER
