"""The Home tab's *Run checks* button end to end: it runs the `check` verb under the clicker's
role, and the report goes to the onboarding's channel exactly as for `/connect check` (a real
NSD on loopback answers the DNS checks)."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
from support.bot_process import BotProcess
from support.dns_fixtures import TEST_PROFILE_YAML, DnsWorld
from support.signing import JSON, TEAM_ID, event_body, interaction_body, post
from support.slack_standin import Call, SlackStandIn

WAIT = 15.0


@pytest.fixture(scope="module")
def bot_env(dns_world: DnsWorld, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    profile = tmp_path_factory.mktemp("profile") / "profile.yml"
    profile.write_text(TEST_PROFILE_YAML)
    return {
        "CONNECT_ALLOW_PRIVATE_TARGETS": "true",
        "CONNECT_GATEWAY_PROFILE": str(profile),
        "CONNECT_DNS_NAMESERVERS": dns_world.nsd.nameserver,
        "CONNECT_DNS_DIRECT_PORT": str(dns_world.nsd.port),
    }


def in_channel(slack: SlackStandIn, channel: str) -> list[Call]:
    return [
        c
        for c in slack.calls("chat.postMessage")
        if c.params.get("channel") == channel and not c.params.get("thread_ts")
    ]


def onboarding_with_domains(bot: BotProcess, slack: SlackStandIn, domains: str) -> tuple[str, str]:
    """Open an onboarding and answer its RFI up to the domains question, in the thread."""
    key, channel = f"hchk-{uuid.uuid4().hex[:8]}", "C" + uuid.uuid4().hex[:10].upper()
    assert bot.send(f"open {key} --service both --region eu", channel_id=channel).status == 200
    root = slack.wait_for(
        lambda c: (
            c.method == "chat.postMessage"
            and c.params.get("channel") == channel
            and c.params.get("text", "").startswith("Request for information:")
        ),
        1,
        WAIT,
    )[0]
    thread_ts = root.response["ts"]
    replies = 1
    contacts = "Jane, jane@acme.example, primary\nRaj, raj@acme.example, technical"
    for text in (contacts, "next", "127.0.0.40", "next", domains, "next"):
        slack.wait_for(lambda c: c.params.get("thread_ts") == thread_ts, replies, WAIT)
        ts = f"{int(time.time())}.{uuid.uuid4().int % 10**6:06d}"
        event = {
            "type": "message",
            "channel": channel,
            "user": "U0CUST",
            "text": text,
            "ts": ts,
            "thread_ts": thread_ts,
        }
        assert post(bot.events_url, bot.secret, event_body(event), content_type=JSON)[0] == 200
        replies += 1
    slack.wait_for(lambda c: c.params.get("thread_ts") == thread_ts, replies, WAIT)
    return key, channel


def test_run_checks_from_home_reports_in_the_onboardings_channel(
    bot: BotProcess, slack: SlackStandIn
) -> None:
    key, channel = onboarding_with_domains(bot, slack, "good.test")
    before = len(in_channel(slack, channel))
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": "U0ENG", "team_id": TEAM_ID},
        "team": {"id": TEAM_ID},
        "api_app_id": "A0CONNECT",
        "trigger_id": "trig-home",
        "container": {"type": "view", "view_id": "V0HOME"},
        "view": {"id": "V0HOME", "type": "home", "blocks": []},
        "actions": [
            {
                "type": "button",
                "action_id": "home_check",
                "block_id": f"home_item:{key}",
                "value": json.dumps({"key": key, "step": "outbound"}),
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    assert post(bot.events_url, bot.secret, interaction_body(payload))[0] == 200
    progress = slack.wait_for(lambda c: c in in_channel(slack, channel), before + 1, WAIT)[-1]
    assert "⏳ Checking" in progress.params["text"]
    ts = progress.response["ts"]
    (report,) = slack.wait_for(
        lambda c: (
            c.method == "chat.update"
            and c.params.get("ts") == ts
            and "⏳" not in c.params.get("text", "")
        ),
        1,
        WAIT,
    )[-1:]
    assert "Outbound checks" in report.params["text"], report.params["text"]
    assert "good.test" in report.params["text"]
    # Nothing went to the engineer's DM: the report is the channel's.
    assert not [c for c in slack.calls("chat.postMessage") if c.params.get("channel") == "U0ENG"]
